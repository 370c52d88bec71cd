// keyproc as a real process: root at start, jailed after reading the PEM,
// talking frames on fd 0/1. Checks the answers, the signature, the jail while
// it waits for SIGN13, traversal names, and protocol violations.
import t, { type Test } from 'tap';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { build } from 'esbuild';
import { encodeFrame, FrameReader, type Frame } from '../../wire/frame';
import { KeyMsg, encodeSelect, encodeSign13, encodeSign12, decodeChain, decodeFail } from '../../wire/keyrpc';
import { ProtocolVersion, type KeyClass } from '../../tls/registry';
import { JAIL_DATA_LIMIT, randomJailIds } from '../../jail/jail';
import { certificateVerifyContent13 } from '../../keyproc/content';
import { verifyByScheme } from '../../tls/signature';
import { searchMemory } from '../lib/procs';

const TLS13: number = ProtocolVersion.tls13;
const TLS12: number = ProtocolVersion.tls12;
const repo = path.resolve(__dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-keyproc-'));
fs.chmodSync(work, 0o755);
const children: ChildProcess[] = [];
t.teardown(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

// --- key+chain files -------------------------------------------------------
function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
}
const KEYGEN: Record<string, string[]> = {
  rsa: ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  p256: ['ecparam', '-name', 'prime256v1', '-genkey'],
  p384: ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ed25519: ['genpkey', '-algorithm', 'ed25519'],
};
openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=ca', '-days', '2');
const pem: Record<string, Buffer> = {};
for (const [kind, gen] of Object.entries(KEYGEN)) {
  openssl(...gen, '-out', `${kind}.key`);
  openssl('req', '-new', '-key', `${kind}.key`, '-subj', `/CN=${kind}`, '-out', `${kind}.csr`);
  openssl('x509', '-req', '-in', `${kind}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${kind}.crt`);
  pem[kind] = Buffer.concat([`${kind}.key`, `${kind}.crt`, 'ca.crt'].map((f) => fs.readFileSync(path.join(work, f))));
}
function certsOf(buf: Buffer): Buffer[] {
  return [...buf.toString('latin1').matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)].map((m) =>
    Buffer.from(m[1].replace(/\s/g, ''), 'base64'),
  );
}

// certs/ecdsa.d/<name> holds P-256 files; certs/rsa.pem is the -f fallback.
const certs = path.join(work, 'certs');
const ecdsaDir = path.join(certs, 'ecdsa.d');
fs.mkdirSync(ecdsaDir, { recursive: true });
fs.writeFileSync(path.join(ecdsaDir, 'host.example'), pem.p256);
fs.writeFileSync(path.join(ecdsaDir, 'ed.example'), pem.ed25519);
fs.writeFileSync(path.join(ecdsaDir, 'p384.example'), pem.p384);
fs.writeFileSync(path.join(certs, 'rsa.pem'), pem.rsa);
// Files where traversal names would land, if anything let them through.
fs.writeFileSync(path.join(certs, 'x'), pem.p384); // ecdsa.d/../x
fs.mkdirSync(path.join(ecdsaDir, 'a'));
fs.writeFileSync(path.join(ecdsaDir, 'a', '.b'), pem.p384); // ecdsa.d/a/.b
fs.writeFileSync(path.join(certs, 'shadow'), pem.p384);
// fixpath: -d '<certs>/.hidden' must open '<certs>/:hidden/<name>'.
fs.mkdirSync(path.join(certs, '.hidden'));
fs.mkdirSync(path.join(certs, ':hidden'));
fs.writeFileSync(path.join(certs, '.hidden', 'host.example'), pem.p384);
fs.writeFileSync(path.join(certs, ':hidden', 'host.example'), pem.ed25519);
// A broken file and a mismatched one.
fs.writeFileSync(path.join(ecdsaDir, 'broken.example'), 'garbage\n');
fs.writeFileSync(path.join(ecdsaDir, 'mismatch.example'), Buffer.concat([fs.readFileSync(path.join(work, 'p256.key')), fs.readFileSync(path.join(work, 'p384.crt'))]));

// certbot's layout (our addition): le/live/<name>/{privkey,fullchain}.pem are
// symlinks into le/archive/<name>/, as certbot makes them.
const le = path.join(certs, 'le');
function certbotTree(name: string, files: Record<string, Buffer>): void {
  fs.mkdirSync(path.join(le, 'archive', name), { recursive: true });
  fs.mkdirSync(path.join(le, 'live', name), { recursive: true });
  for (const [f, body] of Object.entries(files)) {
    const archived = f.replace(/\.pem$/, '1.pem');
    fs.writeFileSync(path.join(le, 'archive', name, archived), body, { mode: 0o600 });
    fs.symlinkSync(path.join('..', '..', 'archive', name, archived), path.join(le, 'live', name, f));
  }
}
const fileOf = (f: string) => fs.readFileSync(path.join(work, f));
certbotTree('cb.example', {
  'privkey.pem': fileOf('p384.key'),
  'fullchain.pem': Buffer.concat([fileOf('p384.crt'), fileOf('ca.crt')]),
  'cert.pem': fileOf('p384.crt'),
  'chain.pem': fileOf('ca.crt'),
});
certbotTree('half.example', { 'privkey.pem': fileOf('p256.key') });
fs.chmodSync(path.join(le, 'archive'), 0o700); // as certbot: only root may look in

// --- the process -------------------------------------------------------------
let bundle = '';
t.before(async () => {
  // Same options as build.mjs, into our tmp dir (the shared dist/ may be mid-build by others).
  // The bundle exports main(); dist/keyproc.js runs it, as this script does (without the code cache).
  bundle = path.join(work, 'keyproc.js');
  fs.writeFileSync(bundle, "void require('./keyproc.bundle.js').main();\n");
  await build({
    entryPoints: [path.join(repo, 'keyproc/main.ts')],
    outfile: path.join(work, 'keyproc.bundle.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['posix'],
    logLevel: 'warning',
  });
});

let jailCount = 0;
function newJail(): { uid: number; gid: number; dir: string } {
  const dir = path.join(work, `jail${jailCount++}`);
  fs.mkdirSync(dir, { mode: 0o555 });
  fs.chmodSync(dir, 0o555);
  const [{ uid, gid }] = randomJailIds(1);
  return { uid, gid, dir };
}

interface Session {
  child: ChildProcess;
  jail: { uid: number; gid: number; dir: string };
  send(type: number, payload: Uint8Array): void;
  raw(bytes: Uint8Array): void;
  next(): Promise<Frame | null>;
  done: Promise<{ code: number | null; signal: string | null; out: Buffer; err: string }>;
}

type Source = { kind: 'file' | 'dir'; path: string };

function startKeyproc(sources: Source[], opts: { verbosity?: number; config?: string; strace?: string } = {}): Session {
  const jail = newJail();
  const config = opts.config ?? JSON.stringify({ certs: sources, jail, verbosity: opts.verbosity ?? 4 });
  const node = [process.execPath, bundle];
  const argv = ['-u', 'NODE_OPTIONS', ...(opts.strace ? ['strace', '-f', '-qq', '-e', 'trace=open,openat,openat2', '-o', opts.strace, ...node] : node)];
  // fd 3: the configuration, as the entry writes it (lib/configpipe.ts).
  const child = spawn('/usr/bin/env', argv, {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_PATH: path.join(repo, 'node_modules') },
  });
  (child.stdio[3] as import('node:net').Socket).end(config);
  children.push(child);
  const reader = new FrameReader();
  const frames: Frame[] = [];
  const waiters: ((f: Frame | null) => void)[] = [];
  let ended = false;
  const outChunks: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    outChunks.push(d);
    for (const f of reader.push(d)) {
      const w = waiters.shift();
      if (w) w(f);
      else frames.push(f);
    }
  });
  child.stdout!.on('end', () => {
    ended = true;
    for (const w of waiters.splice(0)) w(null);
  });
  child.stderr!.on('data', (d) => (err += d));
  child.stdin!.on('error', () => {}); // EPIPE once keyproc has exited
  const done = new Promise<{ code: number | null; signal: string | null; out: Buffer; err: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, out: Buffer.concat(outChunks), err })),
  );
  return {
    child,
    jail,
    send: (type, payload) => child.stdin!.write(encodeFrame(type, payload)),
    raw: (bytes) => child.stdin!.write(bytes),
    next: () => {
      if (frames.length) return Promise.resolve(frames.shift()!);
      if (ended) return Promise.resolve(null);
      return new Promise((resolve) => waiters.push(resolve));
    },
    done,
  };
}

const select = (serverName: string, schemes: number[], version = TLS13, keyClasses: KeyClass[] = ['ec', 'ed25519', 'rsa']) =>
  encodeSelect({ version, serverName, schemes, keyClasses, curves: [] });

function procLine(pid: number, file: string, field: string): string {
  return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\n').find((l) => l.startsWith(field)) ?? '';
}

const DIR: Source = { kind: 'dir', path: ecdsaDir };
const RSA: Source = { kind: 'file', path: path.join(certs, 'rsa.pem') };

// --- tests -------------------------------------------------------------------
t.test('SNI from a -d dir: CHAIN, jailed while waiting, signature verifies, exit 0', async (t) => {
  const s = startKeyproc([DIR, RSA], { verbosity: 1 });
  s.send(KeyMsg.SELECT, select('Host.Example.', [0x0804, 0x0403]));
  const f = await s.next();
  t.equal(f?.type, KeyMsg.CHAIN);
  const chain = decodeChain(f!.payload);
  t.equal(chain.scheme, 0x0403, 'first candidate (the P-256 file) fits with ecdsa_secp256r1_sha256');
  t.same(chain.chain.map((c) => Buffer.from(c)), certsOf(pem.p256), 'chain DER = the file\'s certificates in order');

  const pid = s.child.pid!;
  const { uid, gid, dir } = s.jail;
  t.same(procLine(pid, 'status', 'Uid:').split(/\s+/).slice(1, 5).map(Number), [uid, uid, uid, uid], 'uid dropped (all four)');
  t.same(procLine(pid, 'status', 'Gid:').split(/\s+/).slice(1, 5).map(Number), [gid, gid, gid, gid], 'gid dropped (all four)');
  t.equal(procLine(pid, 'status', 'Groups:').replace(/^Groups:\s*/, ''), '');
  t.equal(fs.readlinkSync(`/proc/${pid}/root`), fs.realpathSync(dir), 'chrooted into the jail dir');
  for (const limit of ['Max open files', 'Max processes', 'Max file size', 'Max core file size'])
    t.same(procLine(pid, 'limits', limit).slice(limit.length).trim().split(/\s+/).slice(0, 2), ['0', '0'], limit);
  t.same(procLine(pid, 'limits', 'Max data size').slice('Max data size'.length).trim().split(/\s+/).slice(0, 2), [String(JAIL_DATA_LIMIT), String(JAIL_DATA_LIMIT)], 'Max data size: the ceiling');

  const hash = crypto.randomBytes(48);
  s.send(KeyMsg.SIGN13, encodeSign13(hash));
  const sig = await s.next();
  t.equal(sig?.type, KeyMsg.SIGNATURE);
  const leaf = new crypto.X509Certificate(chain.chain[0]);
  const content = certificateVerifyContent13(hash);
  t.ok(verifyByScheme(leaf.publicKey, 0x0403, content, sig!.payload), 'signature verifies with the leaf');
  t.ok(crypto.verify('sha256', content, { key: leaf.publicKey, dsaEncoding: 'der' }, sig!.payload), 'crypto.verify agrees');
  const end = await s.done;
  t.equal(end.code, 0, 'exit 0 after the one signature');
  t.equal(await s.next(), null, 'nothing after SIGNATURE');
  t.equal(end.err, '', '-Q: no log lines for a normal connection');
});

/** The key's PEM block in a key+chain file: a 48-character run of its base64 (from the middle of a line), and its DER. */
function keyNeedles(file: Buffer): { base64: Buffer; der: Buffer } {
  const text = file.toString('latin1');
  const m = /-----BEGIN ([A-Z ]*PRIVATE KEY)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) throw new Error('no private key in the file');
  const lines = m[2].split('\n').filter((l) => l.length >= 60);
  return { base64: Buffer.from(lines[0].slice(8, 56), 'latin1'), der: Buffer.from(m[2].replace(/\s/g, ''), 'base64') };
}

for (const [kind, source, scheme] of [['p256', DIR, 0x0403], ['rsa', RSA, 0x0804]] as const) {
  t.test(`${kind}: once the key is parsed, keyproc holds neither its PEM text nor its DER; it exits right after the signature`, async (t) => {
    const s = startKeyproc([source]);
    s.send(KeyMsg.SELECT, select(source === DIR ? 'host.example' : '', [scheme]));
    const f = await s.next();
    t.equal(f?.type, KeyMsg.CHAIN, 'CHAIN: the file was read and parsed');
    const { base64, der } = keyNeedles(pem[kind]);
    const leafDer = certsOf(pem[kind])[0];
    const found = searchMemory(s.child.pid!, [base64, der, leafDer]);
    t.ok(found.bytesRead > 1 << 20, `searched ${found.bytesRead} bytes of keyproc's memory`);
    const hitsOf = (needle: number) => found.hits.filter((h) => h.needle === needle).length;
    t.ok(hitsOf(2) > 0, 'control: the certificate, which keyproc keeps for CHAIN, is found');
    t.equal(hitsOf(0), 0, 'no run of the key\'s base64 (the file was parsed as bytes and wiped)');
    t.equal(hitsOf(1), 0, 'no copy of the key\'s DER (wiped once OpenSSL had it)');
    s.send(KeyMsg.SIGN13, encodeSign13(crypto.randomBytes(32)));
    t.equal((await s.next())?.type, KeyMsg.SIGNATURE);
    t.equal((await s.done).code, 0, 'and it exits (with the key) right after the signature');
  });
}

t.test('no SNI: -d sources skipped, the -f RSA file signs with the client-preferred PSS scheme', async (t) => {
  const s = startKeyproc([DIR, RSA]);
  s.send(KeyMsg.SELECT, select('', [0x0403, 0x0401, 0x0806, 0x0804]));
  const chain = decodeChain((await s.next())!.payload);
  t.equal(chain.scheme, 0x0806);
  t.same(chain.chain.map((c) => Buffer.from(c)), certsOf(pem.rsa));
  const hash = crypto.randomBytes(32);
  s.send(KeyMsg.SIGN13, encodeSign13(hash));
  const sig = (await s.next())!;
  t.ok(
    crypto.verify('sha512', certificateVerifyContent13(hash), { key: new crypto.X509Certificate(chain.chain[0]).publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 }, sig.payload),
    'RSA-PSS SHA-512 signature verifies',
  );
  t.equal((await s.done).code, 0);
});

t.test('fallback to the next candidate when the first key cannot sign any offered scheme', async (t) => {
  const s = startKeyproc([DIR, RSA]);
  s.send(KeyMsg.SELECT, select('host.example', [0x0804]));
  const chain = decodeChain((await s.next())!.payload);
  t.equal(chain.scheme, 0x0804);
  t.same(chain.chain.map((c) => Buffer.from(c)), certsOf(pem.rsa), 'the -f RSA file, not the P-256 one');
  s.child.stdin!.end(); // netproc gives up: quiet exit
  const end = await s.done;
  t.equal(end.code, 0, 'EOF while waiting for SIGN13: exit 0');
  // -vvv trace: both files read as root, then the jail, then parsing and the choice.
  const lines = end.err.split('\n').filter((l) => /tracing: (read|jailed)|debug: using/.test(l));
  t.same(
    lines.map((l) => l.replace(/^tlswrapper: keyproc: /, '').replace(work, 'W')),
    ["tracing: read 'W/certs/ecdsa.d/host.example'", "tracing: read 'W/certs/rsa.pem'", 'tracing: jailed', "debug: using 'W/certs/rsa.pem' with rsa_pss_rsae_sha256"],
    'read as root, jailed, then parsed and chosen',
  );
});

t.test('Ed25519 and P-384 from the dir', async (t) => {
  for (const [name, scheme, kind, hashName] of [
    ['ed.example', 0x0807, 'ed25519', null],
    ['p384.example', 0x0503, 'p384', 'sha384'],
  ] as const) {
    const s = startKeyproc([DIR]);
    s.send(KeyMsg.SELECT, select(name, [0x0403, 0x0503, 0x0807]));
    const chain = decodeChain((await s.next())!.payload);
    t.equal(chain.scheme, scheme, name);
    t.same(chain.chain.map((c) => Buffer.from(c)), certsOf(pem[kind]));
    const hash = crypto.randomBytes(32);
    s.send(KeyMsg.SIGN13, encodeSign13(hash));
    const sig = (await s.next())!;
    const pub = new crypto.X509Certificate(chain.chain[0]).publicKey;
    t.ok(crypto.verify(hashName, certificateVerifyContent13(hash), hashName ? { key: pub, dsaEncoding: 'der' } : pub, sig.payload), `${name} verifies`);
    t.equal((await s.done).code, 0);
  }
});

t.test('fixpath on the -d path: <certs>/.hidden is opened as <certs>/:hidden', async (t) => {
  const s = startKeyproc([{ kind: 'dir', path: path.join(certs, '.hidden') }]);
  s.send(KeyMsg.SELECT, select('host.example', [0x0503, 0x0807]));
  const chain = decodeChain((await s.next())!.payload);
  t.equal(chain.scheme, 0x0807, 'the Ed25519 file in :hidden, not the P-384 one in .hidden');
  t.same(chain.chain.map((c) => Buffer.from(c)), certsOf(pem.ed25519));
  s.child.stdin!.end();
  await s.done;
});

const LE: Source = { kind: 'dir', path: path.join(le, 'live') };

t.test('certbot layout under -d: privkey.pem + fullchain.pem through live/ symlinks, read before the jail', async (t) => {
  const s = startKeyproc([LE, RSA], { verbosity: 1 });
  s.send(KeyMsg.SELECT, select('CB.example', [0x0503]));
  const f = await s.next();
  t.equal(f?.type, KeyMsg.CHAIN);
  const chain = decodeChain(f!.payload);
  t.equal(chain.scheme, 0x0503, 'the P-384 key from privkey.pem');
  t.same(chain.chain.map((c) => Buffer.from(c)), [...certsOf(fileOf('p384.crt')), ...certsOf(fileOf('ca.crt'))], 'chain = fullchain.pem, leaf first');
  t.equal(fs.readlinkSync(`/proc/${s.child.pid}/root`), fs.realpathSync(s.jail.dir), 'jailed while waiting');
  const hash = crypto.randomBytes(48);
  s.send(KeyMsg.SIGN13, encodeSign13(hash));
  const sig = (await s.next())!;
  t.equal(sig.type, KeyMsg.SIGNATURE);
  t.ok(verifyByScheme(new crypto.X509Certificate(chain.chain[0]).publicKey, 0x0503, certificateVerifyContent13(hash), sig.payload), 'signature verifies with the leaf');
  const end = await s.done;
  t.equal(end.code, 0);
  t.equal(end.err, '');
});

t.test('certbot layout: a dir without fullchain.pem is fatal (80, one fatal line); no name skips it', async (t) => {
  const e = await expectFail(t, [LE, RSA], 'half.example', [0x0403, 0x0804], 80, 111);
  const fatal = e.err.split('\n').filter((l) => /fatal/.test(l));
  t.equal(fatal.length, 1, 'one fatal log line');
  t.match(fatal[0], /^tlswrapper: keyproc: fatal: unable to obtain certificate\(s\) from the PEM file '.*\/live\/half\.example\/fullchain\.pem' \(file does not exist\)$/);
  const e2 = await expectFail(t, [LE], 'none.example', [0x0403], 112, 0);
  t.match(e2.err, /fatal: unable to obtain certificate\(s\) from the PEM file '.*\/live\/none\.example' \(file does not exist\), for server name 'none\.example'/, 'no DIR/NAME at all: unrecognized_name, and said at the default level');
  const s = startKeyproc([LE, RSA]);
  s.send(KeyMsg.SELECT, select('', [0x0804]));
  t.same(decodeChain((await s.next())!.payload).chain.map((c) => Buffer.from(c)), certsOf(pem.rsa), 'no SNI: the certbot dir is not looked at');
  s.child.stdin!.end();
  await s.done;
});

async function expectFail(t: Test, sources: Source[], name: string, schemes: number[], alert: number, exit: number, version = TLS13, keyClasses?: KeyClass[]) {
  const s = startKeyproc(sources);
  s.send(KeyMsg.SELECT, select(name, schemes, version, keyClasses));
  const f = await s.next();
  t.equal(f?.type, KeyMsg.FAIL, `${JSON.stringify(name).slice(0, 40)}: FAIL`);
  if (f?.type === KeyMsg.FAIL) t.equal(decodeFail(f.payload), alert, `alert ${alert}`);
  const end = await s.done;
  t.equal(end.code, exit, `exit ${exit}`);
  t.equal(await s.next(), null, 'nothing else written');
  return end;
}

t.test('no certificate: unrecognized_name with a name, handshake_failure without', async (t) => {
  const e1 = await expectFail(t, [DIR], 'unknown.example', [0x0403], 112, 0);
  t.match(e1.err, /fatal: unable to obtain certificate\(s\) from the PEM file '.*\/ecdsa\.d\/unknown\.example' \(file does not exist\), for server name 'unknown\.example'/);
  await expectFail(t, [DIR], '', [0x0403], 40, 0);
  await expectFail(t, [DIR, RSA], 'host.example', [0x0603, 0x0807], 40, 0); // nothing fits
  await expectFail(t, [DIR, RSA], 'host.example', [], 40, 0);
  await expectFail(t, [DIR, RSA], 'host.example', [0x0403], 40, 0, 0x0300); // SSL 3.0
  await expectFail(t, [DIR, RSA], 'host.example', [0x0403], 40, 0, 0x0305); // no such version
});

t.test('config errors are fatal: missing -f file, broken or mismatched PEM', async (t) => {
  const e1 = await expectFail(t, [{ kind: 'file', path: path.join(certs, 'nope.pem') }], '', [0x0403], 80, 111);
  t.match(e1.err, /^tlswrapper: keyproc: fatal: unable to obtain certificate\(s\) from the PEM file '.*nope\.pem' \(file does not exist\)$/m);
  const e2 = await expectFail(t, [DIR], 'broken.example', [0x0403], 80, 111);
  t.match(e2.err, /fatal: unable to obtain certificate\(s\) from the PEM file '.*broken\.example' \(no private key\)/);
  const e3 = await expectFail(t, [DIR], 'mismatch.example', [0x0403], 80, 111);
  t.match(e3.err, /does not match/);
  const e4 = await expectFail(t, [{ kind: 'file', path: certs }], '', [0x0403], 80, 111);
  t.match(e4.err, /not a regular file/);
});

t.test('traversal and malformed names: FAIL unrecognized_name, nothing outside the dir is opened', async (t) => {
  const names = ['..', '../x', '../shadow', 'a/.b', '/etc/shadow', 'host.example\0', 'a'.repeat(255), ('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(62), '.', 'a..b', 'x/../../x', 'HOST.example/'];
  // (300 bytes cannot even be framed: SELECT's name vector has a 1-byte length; 255 and 254 are the longest.)
  for (const name of names) {
    const e = await expectFail(t, [DIR], name, [0x0403, 0x0503], 112, 0);
    t.match(e.err, /info: invalid server name/, 'logged at -v level');
    t.notMatch(e.err, /\0/, 'NUL not echoed into the log');
  }
  // The same under strace: not one open of anything under certs/.
  const trace = path.join(work, 'strace.txt');
  const s = startKeyproc([DIR], { strace: trace });
  s.send(KeyMsg.SELECT, select('../x', [0x0403, 0x0503]));
  const f = await s.next();
  t.equal(f?.type, KeyMsg.FAIL);
  await s.done;
  const opens = fs.readFileSync(trace, 'utf8');
  t.match(opens, /open/, 'strace saw the process open things (its own code)');
  t.notMatch(opens, new RegExp(certs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no open under the cert dir tree');
  // Control: a valid name is opened, and only as the dir + name.
  const trace2 = path.join(work, 'strace2.txt');
  const s2 = startKeyproc([DIR], { strace: trace2 });
  s2.send(KeyMsg.SELECT, select('host.example', [0x0403]));
  t.equal((await s2.next())?.type, KeyMsg.CHAIN);
  s2.child.stdin!.end();
  await s2.done;
  const opened = [...fs.readFileSync(trace2, 'utf8').matchAll(/open(?:at)?\([^"]*"([^"]*)"/g)].map((m) => m[1]).filter((p) => p.startsWith(certs));
  t.same(opened, [path.join(ecdsaDir, 'host.example')], 'exactly the one candidate file');
});

t.test('protocol violations: non-zero exit, nothing written', async (t) => {
  const cases: [string, (s: Session) => void][] = [
    ['SIGN13 first', (s) => s.send(KeyMsg.SIGN13, encodeSign13(Buffer.alloc(32)))],
    ['unknown type first', (s) => s.send(99, Buffer.alloc(3))],
    ['SELECT garbage', (s) => s.send(KeyMsg.SELECT, Buffer.from([3, 4, 200]))],
    ['SELECT trailing bytes', (s) => s.send(KeyMsg.SELECT, Buffer.concat([select('', [0x0403]), Buffer.of(0)]))],
    ['frame length over MAX_FRAME', (s) => s.raw(Buffer.from([0xff, 0xff, 0xff, 0xff, 1]))],
    ['frame length 0', (s) => s.raw(Buffer.from([0, 0, 0, 0]))],
    ['EOF inside a frame', (s) => { s.raw(Buffer.from([0, 0, 0, 9, 1, 0])); s.child.stdin!.end(); }],
  ];
  for (const [what, act] of cases) {
    const s = startKeyproc([DIR, RSA]);
    act(s);
    const end = await s.done;
    t.not(end.code, 0, `${what}: non-zero exit (${end.code})`);
    t.equal(end.out.length, 0, `${what}: nothing written`);
  }
  const eof = startKeyproc([DIR, RSA]);
  eof.child.stdin!.end();
  const e = await eof.done;
  t.equal(e.code, 0, 'EOF before anything: quiet exit 0');
  t.equal(e.out.length, 0);
});

t.test('after CHAIN: a second SELECT, a bad SIGN13, or two SIGN13s', async (t) => {
  {
    const s = startKeyproc([DIR]);
    s.send(KeyMsg.SELECT, select('host.example', [0x0403]));
    t.equal((await s.next())?.type, KeyMsg.CHAIN);
    s.send(KeyMsg.SELECT, select('host.example', [0x0403]));
    const end = await s.done;
    t.not(end.code, 0, 'second SELECT: non-zero');
    t.equal(await s.next(), null, 'nothing after CHAIN');
  }
  {
    const s = startKeyproc([DIR]);
    s.send(KeyMsg.SELECT, select('host.example', [0x0403]));
    t.equal((await s.next())?.type, KeyMsg.CHAIN);
    s.send(KeyMsg.SIGN13, encodeSign13(Buffer.alloc(20)));
    const end = await s.done;
    t.not(end.code, 0, 'SIGN13 with a 20-byte hash: non-zero');
    t.equal(await s.next(), null, 'no signature');
  }
  {
    const s = startKeyproc([DIR]);
    s.send(KeyMsg.SELECT, select('host.example', [0x0403]));
    t.equal((await s.next())?.type, KeyMsg.CHAIN);
    const one = encodeFrame(KeyMsg.SIGN13, encodeSign13(Buffer.alloc(32, 1)));
    s.raw(Buffer.concat([one, one])); // both in one write
    t.equal((await s.next())?.type, KeyMsg.SIGNATURE, 'the first is answered');
    t.equal(await s.next(), null, 'the second is not');
    const end = await s.done;
    t.not(end.code, 0, 'and the exit is non-zero');
  }
  {
    const s = startKeyproc([DIR]);
    s.send(KeyMsg.SELECT, select('host.example', [0x0403]));
    t.equal((await s.next())?.type, KeyMsg.CHAIN);
    s.send(KeyMsg.SIGN13, encodeSign13(Buffer.alloc(32, 1)));
    t.equal((await s.next())?.type, KeyMsg.SIGNATURE);
    s.send(KeyMsg.SIGN13, encodeSign13(Buffer.alloc(32, 2)));
    t.equal(await s.next(), null, 'a later SIGN13 gets nothing: the process is gone');
    t.equal((await s.done).code, 0);
  }
});

t.test('bad configuration: exit 111 before reading anything', async (t) => {
  for (const config of ['', 'not json', '{}', JSON.stringify({ certs: [RSA], jail: { uid: 0, gid: 1, dir: '/x' } })]) {
    const s = startKeyproc([], { config });
    const end = await s.done;
    t.equal(end.code, 111, `config ${JSON.stringify(config).slice(0, 40)}`);
    t.equal(end.out.length, 0);
    t.match(end.err, /tlswrapper: keyproc: fatal: bad configuration/);
  }
});

t.test('jail failure is fatal: FAIL internal_error, exit 111, one log line naming the step', async (t) => {
  const jail = { uid: 141599999, gid: 141599999, dir: path.join(work, 'no-such-jail') };
  const s = startKeyproc([], { config: JSON.stringify({ certs: [DIR], jail, verbosity: 1 }) });
  s.send(KeyMsg.SELECT, select('host.example', [0x0403]));
  const f = await s.next();
  t.equal(f?.type, KeyMsg.FAIL);
  t.equal(decodeFail(f!.payload), 80);
  const end = await s.done;
  t.equal(end.code, 111);
  t.match(end.err, /^tlswrapper: keyproc: fatal: unable to enter the jail: jail: chroot: /);
  t.equal(end.err.trim().split('\n').length, 1, 'one line');
});

t.test('stderr on a regular file: RLIMIT_FSIZE=0 loses the log lines after the jail, but keyproc keeps working', async (t) => {
  const logFile = path.join(work, 'stderr.log');
  const fd = fs.openSync(logFile, 'w');
  const jail = newJail();
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, bundle], {
    stdio: ['pipe', 'pipe', fd, 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_PATH: path.join(repo, 'node_modules') },
  });
  (child.stdio[3] as import('node:net').Socket).end(JSON.stringify({ certs: [DIR], jail, verbosity: 4 }));
  children.push(child);
  fs.closeSync(fd);
  const reader = new FrameReader();
  const got: Frame[] = [];
  child.stdout!.on('data', (d) => got.push(...reader.push(d)));
  child.stdin!.write(encodeFrame(KeyMsg.SELECT, select('host.example', [0x0403])));
  child.stdin!.write(encodeFrame(KeyMsg.SIGN13, encodeSign13(Buffer.alloc(32))));
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.equal(code, 0);
  t.same(got.map((f) => f.type), [KeyMsg.CHAIN, KeyMsg.SIGNATURE]);
  const log = fs.readFileSync(logFile, 'utf8');
  t.match(log, /tracing: read /, 'lines before the jail are there');
  t.notMatch(log, /tracing: jailed/, 'lines after it are lost (EFBIG), silently');
});

// --- TLS 1.2, 1.1, 1.0: SELECT + SIGN12 ---------------------------------------
const u16 = (n: number) => Buffer.of(n >> 8, n & 0xff);
/** ServerKeyExchange content, built here independently of keyproc/content.ts (RFC 8422 5.4). */
function skeContent(cr: Buffer, sr: Buffer, group: number, point: Buffer): Buffer {
  return Buffer.concat([cr, sr, Buffer.of(3), u16(group), Buffer.of(point.length), point]);
}
const CURVE: Record<number, string> = { 0x17: 'prime256v1', 0x18: 'secp384r1', 0x19: 'secp521r1' };
function ephemeral(group: number): Buffer {
  if (group === 0x1d) return crypto.generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  const ecdh = crypto.createECDH(CURVE[group]);
  return ecdh.generateKeys();
}
const md5sha1 = (b: Buffer) => Buffer.concat([crypto.createHash('md5').update(b).digest(), crypto.createHash('sha1').update(b).digest()]);

interface Run12 {
  sources: Source[];
  name: string;
  schemes: number[];
  version: number;
  classes: KeyClass[];
  group: number;
  scheme: number;
  kind: string;
  verify(pub: crypto.KeyObject, content: Buffer, sig: Buffer): boolean;
}

const RUNS12: [string, Run12][] = [
  [
    'TLS 1.2 RSA rsa_pkcs1_sha256 (only pkcs1 offered)',
    {
      sources: [RSA], name: '', schemes: [0x0401, 0x0201], version: TLS12, classes: ['rsa'], group: 0x1d, scheme: 0x0401, kind: 'rsa',
      verify: (pub, content, sig) =>
        crypto.verify('sha256', content, { key: pub, padding: crypto.constants.RSA_PKCS1_PADDING }, sig) &&
        crypto.publicDecrypt({ key: pub, padding: crypto.constants.RSA_PKCS1_PADDING }, sig).toString('hex') ===
          '3031300d060960864801650304020105000420' + crypto.createHash('sha256').update(content).digest('hex'),
    },
  ],
  [
    'TLS 1.2 RSA rsa_pss_rsae_sha384 (client order)',
    {
      sources: [RSA], name: '', schemes: [0x0201, 0x0805, 0x0401], version: TLS12, classes: ['ec', 'rsa'], group: 0x17, scheme: 0x0805, kind: 'rsa',
      verify: (pub, content, sig) => crypto.verify('sha384', content, { key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, sig),
    },
  ],
  [
    'TLS 1.2 P-256 ecdsa_secp256r1_sha256',
    {
      sources: [DIR, RSA], name: 'host.example', schemes: [0x0403, 0x0804], version: TLS12, classes: ['ec', 'ed25519', 'rsa'], group: 0x1d, scheme: 0x0403, kind: 'p256',
      verify: (pub, content, sig) => crypto.verify('sha256', content, { key: pub, dsaEncoding: 'der' }, sig),
    },
  ],
  [
    'TLS 1.2 P-384 key signs ecdsa_secp256r1_sha256',
    {
      sources: [DIR], name: 'p384.example', schemes: [0x0403, 0x0503], version: TLS12, classes: ['ec'], group: 0x18, scheme: 0x0403, kind: 'p384',
      verify: (pub, content, sig) => crypto.verify('sha256', content, { key: pub, dsaEncoding: 'der' }, sig),
    },
  ],
  [
    'TLS 1.2 Ed25519',
    {
      sources: [DIR], name: 'ed.example', schemes: [0x0403, 0x0807], version: TLS12, classes: ['ec', 'ed25519'], group: 0x19, scheme: 0x0807, kind: 'ed25519',
      verify: (pub, content, sig) => crypto.verify(null, content, pub, sig),
    },
  ],
  [
    'TLS 1.2 key classes: the P-256 file is skipped for an RSA-only suite list',
    {
      sources: [DIR, RSA], name: 'host.example', schemes: [0x0403, 0x0804], version: TLS12, classes: ['rsa'], group: 0x17, scheme: 0x0804, kind: 'rsa',
      verify: (pub, content, sig) => crypto.verify('sha256', content, { key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig),
    },
  ],
  [
    'TLS 1.0 RSA rsa_md5sha1 (0xff01), the P-256 file skipped by class',
    {
      sources: [DIR, RSA], name: 'host.example', schemes: [], version: 0x0301, classes: ['rsa'], group: 0x1d, scheme: 0xff01, kind: 'rsa',
      verify: (pub, content, sig) => crypto.publicDecrypt({ key: pub, padding: crypto.constants.RSA_PKCS1_PADDING }, sig).equals(md5sha1(content)),
    },
  ],
  [
    'TLS 1.1 P-256 ecdsa_sha1',
    {
      sources: [DIR, RSA], name: 'host.example', schemes: [], version: 0x0302, classes: ['ec', 'rsa'], group: 0x17, scheme: 0x0203, kind: 'p256',
      verify: (pub, content, sig) => crypto.verify('sha1', content, { key: pub, dsaEncoding: 'der' }, sig),
    },
  ],
];

t.test('TLS 1.2/1.1/1.0: SELECT, CHAIN, SIGN12, a signature over the ServerKeyExchange content', async (t) => {
  for (const [what, r] of RUNS12) {
    const s = startKeyproc(r.sources);
    s.send(KeyMsg.SELECT, select(r.name, r.schemes, r.version, r.classes));
    const f = await s.next();
    t.equal(f?.type, KeyMsg.CHAIN, `${what}: CHAIN`);
    const chain = decodeChain(f!.payload);
    t.equal(chain.scheme, r.scheme, `${what}: scheme 0x${r.scheme.toString(16).padStart(4, '0')}`);
    t.same(chain.chain.map((c) => Buffer.from(c)), certsOf(pem[r.kind]), `${what}: the ${r.kind} chain`);
    const cr = crypto.randomBytes(32);
    const sr = crypto.randomBytes(32);
    const point = ephemeral(r.group);
    s.send(KeyMsg.SIGN12, encodeSign12({ clientRandom: cr, serverRandom: sr, group: r.group, publicKey: point }));
    const sig = await s.next();
    t.equal(sig?.type, KeyMsg.SIGNATURE, `${what}: SIGNATURE`);
    const pub = new crypto.X509Certificate(chain.chain[0]).publicKey;
    const content = skeContent(cr, sr, r.group, point);
    t.ok(r.verify(pub, content, Buffer.from(sig!.payload)), `${what}: verifies over the content built here`);
    t.notOk(r.verify(pub, skeContent(sr, cr, r.group, point), Buffer.from(sig!.payload)), `${what}: and not with the randoms swapped`);
    const end = await s.done;
    t.equal(end.code, 0, `${what}: exit 0`);
    t.equal(await s.next(), null);
  }
});

t.test('TLS 1.0 and the key classes: no fit is FAIL handshake_failure', async (t) => {
  await expectFail(t, [DIR], 'ed.example', [0x0807], 40, 0, 0x0301, ['ec', 'ed25519']); // no Ed25519 below 1.2
  await expectFail(t, [DIR], 'ed.example', [0x0807], 40, 0, 0x0302, ['ed25519']);
  await expectFail(t, [DIR], 'host.example', [0x0403, 0x0804], 40, 0, TLS12, ['rsa']); // P-256 only, RSA suites
  await expectFail(t, [DIR, RSA], 'host.example', [0x0403, 0x0804], 40, 0, TLS12, ['ed25519']);
  const e = await expectFail(t, [RSA], '', [0x0403], 40, 0, TLS12, ['rsa']);
  t.match(e.err, /info: no certificate fits version 0x303 \(signature schemes 0x0403, key classes rsa\)/);
});

t.test('SIGN12 violations: non-zero exit, nothing after CHAIN', async (t) => {
  const p256 = ephemeral(0x17);
  const good = { clientRandom: Buffer.alloc(32, 1), serverRandom: Buffer.alloc(32, 2), group: 0x17, publicKey: p256 };
  const cases: [string, number, (s: Session) => void][] = [
    ['P-256 point of 64 bytes', TLS12, (s) => s.send(KeyMsg.SIGN12, encodeSign12({ ...good, publicKey: p256.subarray(1) }))],
    ['P-256 group with an x25519 point', TLS12, (s) => s.send(KeyMsg.SIGN12, encodeSign12({ ...good, publicKey: ephemeral(0x1d) }))],
    ['x25519 group with a 65-byte point', 0x0301, (s) => s.send(KeyMsg.SIGN12, encodeSign12({ ...good, group: 0x1d }))],
    ['P-384 group with a P-256 point', TLS12, (s) => s.send(KeyMsg.SIGN12, encodeSign12({ ...good, group: 0x18 }))],
    ['compressed-looking P-256 point', TLS12, (s) => s.send(KeyMsg.SIGN12, encodeSign12({ ...good, publicKey: Buffer.concat([Buffer.of(2), p256.subarray(1)]) }))],
    ['unknown group (ffdhe2048)', TLS12, (s) => s.send(KeyMsg.SIGN12, encodeSign12({ ...good, group: 0x0100, publicKey: Buffer.alloc(56, 9) }))],
    ['short client random', TLS12, (s) => s.send(KeyMsg.SIGN12, Buffer.from(encodeSign12(good)).subarray(1))],
    ['trailing byte', TLS12, (s) => s.send(KeyMsg.SIGN12, Buffer.concat([encodeSign12(good), Buffer.of(0)]))],
    ['SIGN13 after a TLS 1.2 CHAIN', TLS12, (s) => s.send(KeyMsg.SIGN13, encodeSign13(Buffer.alloc(32, 1)))],
    ['SIGN13 after a TLS 1.0 CHAIN', 0x0301, (s) => s.send(KeyMsg.SIGN13, encodeSign13(Buffer.alloc(32, 1)))],
    ['SIGN12 after a TLS 1.3 CHAIN', TLS13, (s) => s.send(KeyMsg.SIGN12, encodeSign12(good))],
    ['a second SELECT', TLS12, (s) => s.send(KeyMsg.SELECT, select('host.example', [0x0403], TLS12))],
  ];
  for (const [what, version, act] of cases) {
    const s = startKeyproc([DIR]);
    s.send(KeyMsg.SELECT, select('host.example', [0x0403], version));
    t.equal((await s.next())?.type, KeyMsg.CHAIN, `${what}: CHAIN first`);
    act(s);
    const end = await s.done;
    t.not(end.code, 0, `${what}: non-zero exit (${end.code})`);
    t.equal(await s.next(), null, `${what}: nothing written after CHAIN`);
    t.match(end.err, /debug: protocol violation from netproc/, `${what}: logged as a violation`);
  }
  {
    const s = startKeyproc([DIR, RSA]);
    s.send(KeyMsg.SIGN12, encodeSign12(good));
    const end = await s.done;
    t.not(end.code, 0, 'SIGN12 before SELECT: non-zero');
    t.equal(end.out.length, 0, 'SIGN12 before SELECT: nothing written');
  }
  {
    const s = startKeyproc([DIR]);
    s.send(KeyMsg.SELECT, select('host.example', [0x0403], TLS12));
    t.equal((await s.next())?.type, KeyMsg.CHAIN);
    const one = encodeFrame(KeyMsg.SIGN12, encodeSign12(good));
    s.raw(Buffer.concat([one, one]));
    t.equal((await s.next())?.type, KeyMsg.SIGNATURE, 'two SIGN12 in one write: the first is answered');
    t.equal(await s.next(), null, 'the second is not');
    t.not((await s.done).code, 0, 'and the exit is non-zero');
  }
});
