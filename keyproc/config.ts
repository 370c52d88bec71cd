// keyproc's configuration: JSON on fd 3, written by the entry (lib/configpipe.ts):
//   { "certs": [{ "kind": "file" | "dir", "path": "/abs/or/rel" }, ...],
//     "jail": { "uid": N, "gid": N, "dir": "/abs" },
//     "verbosity": 0..4,           // 0 -q, 1 -Q (default), 2 -v, 3 -vv, 4 -vvv
//     "rehearse": true }           // optional: a spare set's keyproc (warmup.ts)
import type { CertSource } from './paths';
import type { JailSpec } from '../jail/jail';

export interface KeyprocConfig {
  certs: CertSource[];
  jail: JailSpec;
  verbosity: number;
  /** tlswrapper-server's spare sets: go through the signing code once while waiting (warmup.ts). */
  rehearse?: boolean;
}

export class ConfigError extends Error {}

function isId(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 0xffffffff;
}

export function parseConfig(json: string | undefined): KeyprocConfig {
  if (typeof json !== 'string') throw new ConfigError('missing configuration argument');
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new ConfigError(`configuration is not JSON (${(e as Error).message})`);
  }
  const c = raw as { certs?: unknown; jail?: { uid?: unknown; gid?: unknown; dir?: unknown }; verbosity?: unknown; rehearse?: unknown };
  if (!c || typeof c !== 'object') throw new ConfigError('configuration is not an object');
  if (!Array.isArray(c.certs) || c.certs.length === 0) throw new ConfigError('no certificate sources (-f/-d)');
  const certs: CertSource[] = c.certs.map((s: unknown, i: number) => {
    const src = s as { kind?: unknown; path?: unknown };
    if (!src || (src.kind !== 'file' && src.kind !== 'dir')) throw new ConfigError(`certs[${i}]: kind must be 'file' or 'dir'`);
    if (typeof src.path !== 'string' || src.path === '' || src.path.includes('\0'))
      throw new ConfigError(`certs[${i}]: bad path`);
    return { kind: src.kind, path: src.path };
  });
  const j = c.jail;
  if (!j || typeof j !== 'object') throw new ConfigError('missing jail');
  if (!isId(j.uid) || !isId(j.gid)) throw new ConfigError('jail uid/gid must be integers > 0');
  if (typeof j.dir !== 'string' || !j.dir.startsWith('/') || j.dir.includes('\0'))
    throw new ConfigError('jail dir must be an absolute path');
  const verbosity = c.verbosity === undefined ? 1 : c.verbosity;
  if (typeof verbosity !== 'number' || !Number.isInteger(verbosity) || verbosity < 0 || verbosity > 4)
    throw new ConfigError('verbosity must be 0..4');
  if (c.rehearse !== undefined && typeof c.rehearse !== 'boolean') throw new ConfigError('rehearse must be true or false');
  return { certs, jail: { uid: j.uid, gid: j.gid, dir: j.dir }, verbosity, ...(c.rehearse ? { rehearse: true } : {}) };
}
