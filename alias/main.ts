// tlswrapper-alias [-f file] [-a] [-q|-v] [--] prog [args...]
//
// Runs as tlswrapper's prog: maps the client certificate's SHA-256 (from
// SSL_PEER_CERT_HASH or SHA256) to an alias through the alias file and runs
// prog with ALIAS set and our stdin/stdout/stderr, so prog talks to the client.
// An unknown certificate is refused (exit 111) or, with -a, may register an
// alias (see register.ts and man/tlswrapper-alias.1 for the line protocol).
//
// process.stdin/stdout/stderr are never touched: Node would make a pipe
// non-blocking, and prog shares these file descriptions. All output goes
// through fs.writeSync on fds 1 and 2.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { EXIT_FAILURE, EXIT_USAGE } from '../lib/exitcodes';
import { createLogger, errText, fatalExit } from '../lib/log';
import { writeAllSync } from '../lib/stdiostreams';
import { parseAliasFile, parseArgs, peerHash, USAGE, validAlias, type AliasTable } from './parse';
import { appendAlias, readLine } from './register';

const ALIAS_TIMEOUT_MS = 30_000;
let log = createLogger(1, undefined, 'tlswrapper-alias');

/** At the verbosity the options set (1 until they are parsed). */
function die(message: string, code = EXIT_FAILURE): never {
  return fatalExit(log, message, code);
}

/** Write all of `text` to fd 1 (the client); false if the client is gone. */
function say(text: string): boolean {
  try {
    writeAllSync(1, Buffer.from(text, 'latin1'));
    return true;
  } catch {
    return false;
  }
}

let child: ChildProcess | null = null;
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (child) child.kill(sig);
    else die(`${sig} before prog started`);
  });
}

function runProg(prog: string[], alias: string): void {
  child = spawn(prog[0], prog.slice(1), { stdio: 'inherit', env: { ...process.env, ALIAS: alias } });
  child.on('error', (e) => die(`cannot run ${prog[0]}: ${e.message}`));
  child.on('exit', (code, signal) => process.exit(signal !== null ? EXIT_FAILURE : code ?? EXIT_FAILURE));
}

function readTable(file: string, missingOk: boolean): AliasTable {
  let text = '';
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (e) {
    if (!(missingOk && (e as NodeJS.ErrnoException).code === 'ENOENT')) die(`cannot read ${file}: ${errText(e)}`);
  }
  const parsed = parseAliasFile(text);
  if (!parsed.ok) die(`${file}: ${parsed.error}`);
  return parsed.table;
}

async function register(file: string, hash: string): Promise<string> {
  const refuse = (client: string, message: string): never => {
    say(`error ${client}\n`);
    return die(`registration of SHA256:${hash} refused: ${message}`);
  };
  if (!say('alias?\n')) die('cannot write the alias prompt: client gone');
  const r = await readLine(0, ALIAS_TIMEOUT_MS);
  if (!r.ok) return refuse(/within/.test(r.error) ? 'timeout' : 'invalid alias', r.error);
  const alias = r.line;
  if (!validAlias(alias)) return refuse('invalid alias', `invalid alias ${JSON.stringify(alias)}`);
  let done;
  try {
    done = appendAlias(file, hash, alias);
  } catch (e) {
    return refuse('registration failed', errText(e));
  }
  if (!done.ok) return refuse(done.taken ? 'alias taken' : 'registration failed', done.error);
  log.info(`registered SHA256:${hash} as ${alias} in ${file}`);
  if (!say(`ok ${alias}\n`)) die('cannot confirm the registration: client gone');
  return alias;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!args.ok) die(`${args.error} (usage: ${USAGE})`, EXIT_USAGE);
  const o = args.options;
  log = createLogger(o.verbosity, undefined, 'tlswrapper-alias');
  const peer = peerHash(process.env);
  if (peer.kind === 'malformed') die(`malformed ${peer.from} (want ${peer.from === 'SHA256' ? '' : 'SHA256:'}<64 lowercase hex digits>)`);
  if (peer.kind === 'none') die('no client certificate (SSL_PEER_CERT_HASH and SHA256 unset; run under tlswrapper -a)');
  const table = readTable(o.file, o.register);
  let alias = table.byHash.get(peer.hash);
  if (alias === undefined) {
    if (!o.register) die(`unknown client certificate SHA256:${peer.hash}`);
    alias = await register(o.file, peer.hash);
  } else {
    log.info(`SHA256:${peer.hash} is ${alias}`);
  }
  runProg(o.prog, alias);
}

main().catch((e) => die(errText(e)));
