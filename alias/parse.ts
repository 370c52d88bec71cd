// tlswrapper-alias: the pure parts. The alias file's text -> a map (or the
// first error, naming its line), the peer's hash from the environment, the
// alias charset. No I/O here, so the unit tests cover all of it.
import { flag, parseWithTable, UsageError, withArgument, type OptionTable } from '../lib/companionopts';

/** A certificate hash: SHA-256 in exactly 64 lowercase hex digits. */
export const HASH_RE = /^[0-9a-f]{64}$/;
/** An alias: lowercase letters, digits, then also `_`, `.`, `-`; 1 to 32 bytes. */
export const ALIAS_RE = /^[a-z0-9][a-z0-9_.-]{0,31}$/;
export const ALIAS_MAX = 32;

export const validHash = (s: string): boolean => HASH_RE.test(s);
export const validAlias = (s: string): boolean => ALIAS_RE.test(s);

export interface AliasTable {
  /** hash -> alias */
  byHash: Map<string, string>;
  /** alias -> hash */
  byAlias: Map<string, string>;
}

export type ParseResult = { ok: true; table: AliasTable } | { ok: false; error: string };

/**
 * The alias file: one `<hash> <alias>` per line (64 lowercase hex digits,
 * blanks, the alias; blanks around the line are allowed), blank lines, and
 * comment lines whose first non-blank character is `#`. A line that is none
 * of these, and a hash or alias given twice, is an error naming the line.
 * A CR before the newline is part of the line, and so refused.
 */
export function parseAliasFile(text: string): ParseResult {
  const byHash = new Map<string, string>();
  const byAlias = new Map<string, string>();
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i].replace(/^[ \t]+|[ \t]+$/g, '');
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/[ \t]+/);
    if (fields.length !== 2) return { ok: false, error: `line ${n}: expected "<sha256 hex> <alias>"` };
    const [hash, alias] = fields;
    if (!validHash(hash)) return { ok: false, error: `line ${n}: not a SHA-256 in 64 lowercase hex digits` };
    if (!validAlias(alias)) return { ok: false, error: `line ${n}: bad alias (allowed: [a-z0-9][a-z0-9_.-]{0,31})` };
    if (byHash.has(hash)) return { ok: false, error: `line ${n}: hash given twice (first as ${byHash.get(hash)})` };
    if (byAlias.has(alias)) return { ok: false, error: `line ${n}: alias ${alias} given twice` };
    byHash.set(hash, alias);
    byAlias.set(alias, hash);
  }
  return { ok: true, table: { byHash, byAlias } };
}

export type HashResult =
  | { kind: 'hash'; hash: string; from: string }
  | { kind: 'none' }
  | { kind: 'malformed'; from: string };

/**
 * The peer's certificate hash: SSL_PEER_CERT_HASH (`SHA256:<hex>`) when it is
 * set (even if empty or malformed: then refused, with no fall-back), else
 * SHA256 (bare hex), else none.
 */
export function peerHash(env: Record<string, string | undefined>): HashResult {
  const tagged = env.SSL_PEER_CERT_HASH;
  if (tagged !== undefined) {
    const hex = tagged.startsWith('SHA256:') ? tagged.slice(7) : '';
    return validHash(hex) ? { kind: 'hash', hash: hex, from: 'SSL_PEER_CERT_HASH' } : { kind: 'malformed', from: 'SSL_PEER_CERT_HASH' };
  }
  const bare = env.SHA256;
  if (bare !== undefined) {
    return validHash(bare) ? { kind: 'hash', hash: bare, from: 'SHA256' } : { kind: 'malformed', from: 'SHA256' };
  }
  return { kind: 'none' };
}

/** The line appended to the alias file for a registration. */
export const aliasLine = (hash: string, alias: string): string => `${hash} ${alias}\n`;

export interface Options {
  file: string;
  register: boolean;
  /** 0 quiet, 1 fatal messages (default), 2 also info. */
  verbosity: number;
  prog: string[];
}

/** The default alias file (see the man page for why this one). */
export const DEFAULT_FILE = '/etc/tlswrapper/aliases';
export const USAGE = 'tlswrapper-alias [-f file] [-a] [-q|-v] [--] prog [args...]';

// Not VERBOSITY_OPTIONS: -v is 2 however often it is given, and there is no -Q.
const OPTIONS: OptionTable<Options> = {
  a: flag((o) => (o.register = true)),
  q: flag((o) => (o.verbosity = 0)),
  v: flag((o) => (o.verbosity = 2)),
  f: withArgument((o, file) => {
    if (file === '') throw new UsageError('-f needs a file');
    o.file = file;
  }),
};

/** Command line, tlswrapper's way (lib/getopt.ts, lib/companionopts.ts). */
export function parseArgs(argv: string[]): { ok: true; options: Options } | { ok: false; error: string } {
  const o: Options = { file: DEFAULT_FILE, register: false, verbosity: 1, prog: [] };
  try {
    o.prog = parseWithTable(argv, OPTIONS, o);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return { ok: false, error: e.message === 'option -f needs an argument' ? '-f needs a file' : e.message };
  }
  if (o.prog.length === 0) return { ok: false, error: 'no prog' };
  return { ok: true, options: o };
}
