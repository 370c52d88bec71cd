// Side-by-side figures for TLS wrappers under tcpserver on 127.0.0.1:
// Debian's tlswrapper, stunnel4 (inetd mode) and ours (bin/tlswrapper); the
// `-a` rows (debian-a, ours-a) add client-certificate authentication; the
// `ours-server` rows are bin/tlswrapper-server, our own listener with spare
// process sets, in place of tcpserver. `node -e 0` is timed in the same run
// as the unit that start-up figures compare against, and the `floor` row
// (bench/floor.cjs) is the least a Node program run per connection can do.
// Run through bench/run.mjs (which bundles this file with esbuild); see bench/README.md.
//
// Loopback only, every loop bounded by a count and a time limit. No thresholds.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { leafCert, type KeyType, type LeafCert } from '../test/lib/certs';
import { clientCert } from '../test/lib/clientcerts';
import { spawnSync } from 'node:child_process';
import { connectionForClient, connections, pssKB, serverConnectionForClient, sumHWM, type Connection } from '../test/lib/procs';
import { startSuperServer, type SuperServer, type SuperServerKind } from '../test/lib/superserver';
import { RawTls13Client } from '../test/lib/rawtls13';

interface Args {
  only: string[];
  seq: number;
  paced: number;
  gapMs: number;
  conc: number;
  par: number;
  mb: number;
  key: KeyType;
  phaseSeconds: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { only: ['debian', 'debian-a', 'stunnel', 'floor', 'ours', 'ours-a', 'ours-server', 'ours-server-a'], seq: 100, paced: 20, gapMs: 300, conc: 200, par: 8, mb: 50, key: 'p256', phaseSeconds: 20, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]; const v = () => argv[++i];
    switch (k) {
      case '--only': a.only = v().split(','); break;
      case '--seq': a.seq = Number(v()); break;
      case '--paced': a.paced = Number(v()); break;
      case '--gap-ms': a.gapMs = Number(v()); break;
      case '--conc': a.conc = Number(v()); break;
      case '--par': a.par = Number(v()); break;
      case '--mb': a.mb = Number(v()); break;
      case '--key': a.key = v() as KeyType; break;
      case '--phase-seconds': a.phaseSeconds = Number(v()); break;
      case '--json': a.json = true; break;
      case '--quick': a.seq = 20; a.paced = 10; a.conc = 40; a.mb = 5; a.phaseSeconds = 8; break;
      case '-h': case '--help':
        console.log('usage: node bench/run.mjs [--quick] [--only debian,debian-a,stunnel,floor,ours,ours-a,ours-server,ours-server-a] [--seq N] [--paced N] [--gap-ms MS] [--conc N] [--par N] [--mb N] [--key p256|rsa2048|p384|p521|ed25519] [--phase-seconds S] [--json]');
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default: throw new Error(`unknown option ${k}`);
    }
  }
  return a;
}

// bench/run.mjs runs a bundle of this file from a temp dir and says where the repo is.
const repoRoot = process.env.TLSWRAPPER_REPO ?? path.resolve(__dirname, '..');

interface Impl {
  name: string;
  /** TLS versions to measure with this implementation. */
  versions: Version[];
  /** The client presents a certificate (P-256, from the ECDSA client CA) and argv gets its anchor file. */
  clientAuth?: boolean;
  /** argv run by tcpserver for each connection, with `prog` as the inner program. */
  argv(cert: LeafCert, prog: string[], anchor: string): string[] | string;
  /** What accepts the connections: tcpserver (default) or our own tlswrapper-server (then argv must be ours). */
  kind?: SuperServerKind;
}

function stunnelConf(cert: LeafCert, prog: string[], dir: string): string {
  const conf = path.join(dir, `stunnel-${path.basename(prog[0])}.conf`);
  // Inetd mode: no service section and no `accept`: stunnel serves the socket on
  // its stdin/stdout and execs prog.
  fs.writeFileSync(conf, [
    'foreground = yes', 'syslog = no', 'pid =', 'debug = 3',
    `cert = ${cert.pem}`, 'sslVersionMin = TLSv1.2', 'sslVersionMax = TLSv1.3',
    `exec = ${prog[0]}`, `execArgs = ${[path.basename(prog[0]), ...prog.slice(1)].join(' ')}`, '',
  ].join('\n'));
  return conf;
}

const debian = (args: string[]) => (fs.existsSync('/usr/bin/tlswrapper') ? ['/usr/bin/tlswrapper', ...args] : '/usr/bin/tlswrapper not installed');
const ours = (args: string[]) => (fs.existsSync(path.join(repoRoot, 'dist', 'entry.js'))
  ? [path.join(repoRoot, 'bin', 'tlswrapper'), ...args] : 'dist/entry.js missing (run npm ci or npm run build)');

const IMPLS: Record<string, Impl> = {
  debian: { name: "Debian's tlswrapper", versions: ['1.2'], argv: (c, prog) => debian(['-f', c.pem, ...prog]) },
  'debian-a': { name: "Debian's tlswrapper -a", versions: ['1.2'], clientAuth: true, argv: (c, prog, anchor) => debian(['-a', anchor, '-f', c.pem, ...prog]) },
  stunnel: { name: 'stunnel4', versions: ['1.2', '1.3'], argv: (c, prog) => {
    const bin = ['/usr/bin/stunnel4', '/usr/bin/stunnel'].find((b) => fs.existsSync(b));
    if (!bin) return 'stunnel4 not installed';
    return [bin, stunnelConf(c, prog, tmpDir())];
  } },
  // Not a wrapper: the least any per-connection Node program can do (bench/floor.cjs).
  floor: { name: 'floor: one Node process, node:tls', versions: ['1.3'], argv: (c, prog) => [process.execPath, path.join(repoRoot, 'bench', 'floor.cjs'), c.pem, ...prog] },
  ours: { name: 'ours (bin/tlswrapper)', versions: ['1.2', '1.3', '1.3 raw', '1.3 pq'], argv: (c, prog) => ours(['-f', c.pem, ...prog]) },
  'ours-a': { name: 'ours -a (client certificate)', versions: ['1.2', '1.3'], clientAuth: true, argv: (c, prog, anchor) => ours(['-a', anchor, '-f', c.pem, ...prog]) },
  'ours-server': { name: 'ours (tlswrapper-server)', versions: ['1.2', '1.3', '1.3 raw', '1.3 pq'], kind: 'tlswrapper-server', argv: (c, prog) => ours(['-f', c.pem, ...prog]) },
  'ours-server-a': { name: 'ours -a (tlswrapper-server)', versions: ['1.2', '1.3'], kind: 'tlswrapper-server', clientAuth: true, argv: (c, prog, anchor) => ours(['-a', anchor, '-f', c.pem, ...prog]) },
};

let tmp: string | undefined;
function tmpDir(): string {
  if (!tmp) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-bench-'));
    const d = tmp;
    process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  }
  return tmp;
}

/**
 * '1.3 pq': TLS 1.3 with X25519MLKEM768, from test/lib's raw TLS 1.3 client
 * (Node's OpenSSL 3.0 has no ML-KEM); '1.3 raw': the same client with
 * X25519, the row to compare it with (the client is JavaScript, slower than
 * Node's OpenSSL one, and its own ML-KEM work is in the pq row).
 */
type Version = '1.2' | '1.3' | '1.3 raw' | '1.3 pq';
const RAW_CLIENT: Partial<Record<Version, 'x25519' | 'X25519MLKEM768'>> = { '1.3 raw': 'x25519', '1.3 pq': 'X25519MLKEM768' };
interface ConnOpts { port: number; ca: string; version: Version; timeoutMs: number; cert?: string; key?: string }

function connect(o: ConnOpts): tls.TLSSocket {
  const v = `TLSv${o.version.slice(0, 3)}` as tls.SecureVersion;
  return tls.connect({ host: '127.0.0.1', port: o.port, servername: 'localhost', ca: o.ca, cert: o.cert, key: o.key, minVersion: v, maxVersion: v });
}

/** The same with test/lib's raw TLS 1.3 client offering only `group` (it checks no certificate). */
async function oneRawConnection(o: ConnOpts, group: 'x25519' | 'X25519MLKEM768'): Promise<number> {
  const t0 = process.hrtime.bigint();
  const c = await RawTls13Client.connect(o.port, o.timeoutMs, group);
  try {
    c.send(23, Buffer.from('x'));
    await c.record();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    c.socket.destroy();
  }
}

/** One full handshake (no resumption) plus a 1-byte echo round trip; returns ms. */
function oneConnection(o: ConnOpts): Promise<number> {
  const raw = RAW_CLIENT[o.version];
  if (raw) return oneRawConnection(o, raw);
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const s = connect(o);
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`timeout after ${o.timeoutMs} ms`)); }, o.timeoutMs);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('close', () => { clearTimeout(timer); reject(new Error('closed before the echo')); });
    s.once('secureConnect', () => s.write('x'));
    s.once('data', () => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      s.removeAllListeners('close');
      s.on('error', () => { /* ignore after success */ });
      s.destroy();
      resolve(ms);
    });
  });
}

/** Short error text: OpenSSL's reason or Node's code rather than the full error string. */
function errText(e: unknown): string {
  const x = e as { reason?: string; code?: string; message?: string };
  return x?.reason ?? x?.code ?? x?.message ?? String(e);
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

interface Phase { rate?: number; p50?: number; p90?: number; n?: number; errors: number; firstError?: string | undefined }

/** One connection after another; gapMs > 0: each starts that long after the last one ended (paced). */
async function sequential(o: ConnOpts, count: number, seconds: number, gapMs = 0): Promise<Phase> {
  const lat: number[] = []; let errors = 0; let firstError: string | undefined;
  const t0 = Date.now();
  for (let i = 0; i < count && Date.now() - t0 < seconds * 1000; i++) {
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    try { lat.push(await oneConnection(o)); } catch (e) { errors++; firstError ??= errText(e); if (errors >= 5 && lat.length === 0) break; }
  }
  const secs = (Date.now() - t0) / 1000;
  return { rate: lat.length / secs, p50: pct(lat, 50), p90: pct(lat, 90), n: lat.length, errors, firstError };
}

async function concurrent(o: ConnOpts, count: number, par: number, seconds: number): Promise<Phase> {
  const lat: number[] = []; let errors = 0; let firstError: string | undefined;
  const t0 = Date.now(); let started = 0;
  const worker = async () => {
    while (started < count && Date.now() - t0 < seconds * 1000) {
      started++;
      try { lat.push(await oneConnection(o)); } catch (e) { errors++; firstError ??= errText(e); if (errors >= 10 && lat.length === 0) return; }
    }
  };
  await Promise.all(Array.from({ length: par }, worker));
  const secs = (Date.now() - t0) / 1000;
  return { rate: lat.length / secs, p50: pct(lat, 50), p90: pct(lat, 90), n: lat.length, errors, firstError };
}

/** One client's connection: its processes (the super-server's child and descendants, or tlswrapper-server's share), null if not found. */
function connectionOf(ss: SuperServer, port: number, clientPort: number): Connection | null {
  return (ss.kind === 'tlswrapper-server' ? serverConnectionForClient : connectionForClient)(ss.pid, port, clientPort);
}

const pssOf = (conn: Connection) => conn.procs.reduce((a, p) => a + pssKB(p.pid), 0);

interface Throughput { mbps?: number; hwmKB?: number | undefined; pssKB?: number | undefined; procs?: number; error?: string | undefined }

/** Push `mb` MiB through the echo prog and read it back; sample the connection's peak RSS before closing. */
function throughput(o: ConnOpts, ss: SuperServer, mb: number, seconds: number): Promise<Throughput> {
  const total = mb * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'tlswrapper-bench-');
  return new Promise((resolve) => {
    const s = connect(o);
    let sent = 0; let got = 0; let t0 = 0; let done = false;
    const finish = (r: Throughput) => { if (done) return; done = true; clearTimeout(timer); s.destroy(); resolve(r); };
    const timer = setTimeout(() => finish({ error: `timeout after ${seconds} s (${(got / 1048576).toFixed(1)} MiB back)` }), seconds * 1000);
    s.on('error', (e) => finish({ error: errText(e) }));
    s.on('close', () => finish({ error: `closed after ${(got / 1048576).toFixed(1)} MiB back` }));
    const pump = () => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { s.once('drain', pump); return; }
      }
    };
    s.once('secureConnect', () => { t0 = Date.now(); pump(); });
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= total) {
        const secs = (Date.now() - t0) / 1000;
        // This connection's processes only (earlier ones may still be exiting).
        const conn = connectionOf(ss, o.port, s.localPort ?? 0);
        const procs = conn?.procs ?? [];
        finish({ mbps: mb / secs, hwmKB: conn ? sumHWM(procs) : undefined, pssKB: conn ? pssOf(conn) : undefined, procs: procs.length,
          error: conn ? undefined : `connection's processes not found (${connections(ss.pid).length} open)` });
      }
    });
  });
}

/**
 * PSS per connection with `n` connections open at once, each past its
 * handshake and with data echoed: what the pages every connection shares
 * (the Node binary's, ~34 MiB of them) cost each when a server has many
 * clients. One connection alone carries them all (the echo phase's figure).
 */
async function pssAtOnce(o: ConnOpts, ss: SuperServer, n: number, seconds: number): Promise<{ pssKB?: number; error?: string }> {
  const sockets: tls.TLSSocket[] = [];
  const payload = Buffer.alloc(64 * 1024, 'tlswrapper-bench-');
  const echoed = (s: tls.TLSSocket) => new Promise<void>((resolve, reject) => {
    let got = 0;
    s.once('secureConnect', () => s.write(payload));
    s.on('data', (d: Buffer) => { got += d.length; if (got >= payload.length) resolve(); });
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed before the echo')));
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const all = Array.from({ length: n }, () => { const s = connect(o); sockets.push(s); return echoed(s); });
    await Promise.race([Promise.all(all), new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout after ${seconds} s`)), seconds * 1000); })]);
    let total = 0;
    for (const s of sockets) {
      const conn = connectionOf(ss, o.port, s.localPort ?? 0);
      if (!conn) return { error: `a connection's processes not found (${connections(ss.pid).length} open)` };
      total += pssOf(conn);
    }
    return { pssKB: total / n };
  } catch (e) {
    return { error: errText(e) };
  } finally {
    clearTimeout(timer);
    for (const s of sockets) s.destroy();
  }
}

interface Row {
  impl: string;
  version: string;
  paced?: Phase;
  seq?: Phase;
  conc?: Phase;
  tp?: Throughput;
  /** PSS per connection with conc connections open at once (pssAtOnce). */
  shared?: { pssKB?: number; error?: string };
  error?: string;
}

const f1 = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

function printTable(rows: Row[], a: Args): void {
  const head = ['implementation', 'TLS', `paced p50/p90 ms`, `seq hs/s`, 'seq p50/p90 ms', `conc(${a.par}) hs/s`, 'conc p50/p90 ms', `echo MB/s (${a.mb} MiB)`, 'peak RSS/conn MiB (procs)', 'PSS/conn MiB', `PSS/conn MiB, ${a.par} open`, 'errors'];
  const body = rows.map((r) => {
    if (r.error) return [r.impl, r.version, '-', '-', '-', '-', '-', '-', '-', '-', '-', r.error];
    const errs = [
      r.paced?.errors ? `paced ${r.paced.errors}× ${r.paced.firstError}` : '',
      r.seq?.errors ? `seq ${r.seq.errors}× ${r.seq.firstError}` : '',
      r.conc?.errors ? `conc ${r.conc.errors}× ${r.conc.firstError}` : '',
      r.tp?.error ? `echo: ${r.tp.error}` : '',
      r.shared?.error ? `${a.par} open: ${r.shared.error}` : '',
    ].filter(Boolean).join('; ');
    return [
      r.impl, r.version,
      r.paced?.n ? `${f1(r.paced.p50)}/${f1(r.paced.p90)}` : '-',
      f1(r.seq?.rate), r.seq?.n ? `${f1(r.seq.p50)}/${f1(r.seq.p90)}` : '-',
      f1(r.conc?.rate), r.conc?.n ? `${f1(r.conc.p50)}/${f1(r.conc.p90)}` : '-',
      f1(r.tp?.mbps), r.tp?.hwmKB !== undefined ? `${f1(r.tp.hwmKB / 1024)} (${r.tp.procs})` : '-',
      r.tp?.pssKB !== undefined ? f1(r.tp.pssKB / 1024) : '-',
      r.shared?.pssKB !== undefined ? f1(r.shared.pssKB / 1024) : '-',
      errs ? errs.slice(0, 160) : '',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ').trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const b of body) console.log(line(b));
}

/**
 * The environment every super-server, and so every wrapper, runs with, and
 * the yardstick too: PATH alone, as systemd gives a service (inetd gives
 * less). Not the bench's own: a variable Node reads at start costs every
 * connection of ours and not Debian's (NODE_EXTRA_CA_CERTS, set on some
 * machines for Node's TLS clients, made each Node start ~2.5x as long here).
 */
const SUPER_SERVER_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

/** A bare Node start, the yardstick for start-up figures: \`node -e 0\`, wall time of each of n runs. */
function nodeStartMs(n = 11): { p50: number; min: number; n: number } {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore', env: SUPER_SERVER_ENV });
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { p50: pct(ms, 50), min: Math.min(...ms), n };
}

export async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const cert = leafCert(a.key, ['localhost']);
  const ca = fs.readFileSync(cert.caCert, 'utf8');
  const client = clientCert({ keyType: 'p256', ca: 'ecdsa' });
  const clientPems = { cert: fs.readFileSync(client.chainFile, 'utf8'), key: fs.readFileSync(client.keyFile, 'utf8') };
  const rows: Row[] = [];
  const started = Date.now();
  console.log(`# ${os.cpus().length} cpus, node ${process.version}, key ${a.key}, tcpserver on 127.0.0.1; ` +
    `paced ${a.paced} (${a.gapMs} ms apart), seq ${a.seq}, conc ${a.conc} at ${a.par}, echo ${a.mb} MiB through cat; each phase ≤ ${a.phaseSeconds} s; ` +
    `super-servers and \`node -e 0\` with PATH alone in their environment`);
  const unit = nodeStartMs();
  console.log(`# the unit, measured now: \`node -e 0\` p50 ${f1(unit.p50)} ms (min ${f1(unit.min)}, ${unit.n} runs)`);
  for (const id of a.only) {
    const impl = IMPLS[id];
    if (!impl) { rows.push({ impl: id, version: '-', error: 'unknown implementation' }); continue; }
    const argvOrErr = impl.argv(cert, ['/bin/cat'], client.anchorFile);
    if (typeof argvOrErr === 'string') { rows.push({ impl: impl.name, version: impl.versions.join(','), error: argvOrErr }); continue; }
    let ss: SuperServer | undefined;
    try {
      ss = await startSuperServer(impl.kind ?? 'tcpserver', argvOrErr, { cwd: repoRoot, env: SUPER_SERVER_ENV });
      // tlswrapper-server: let its spare sets finish starting before the clock runs.
      if (impl.kind === 'tlswrapper-server') await new Promise((r) => setTimeout(r, 1500));
      for (const version of impl.versions) {
        const o: ConnOpts = { port: ss.port, ca, version, timeoutMs: 10000, ...(impl.clientAuth ? clientPems : {}) };
        const row: Row = { impl: impl.name, version };
        process.stderr.write(`${impl.name} TLS ${version}: paced…`);
        row.paced = await sequential(o, a.paced, a.phaseSeconds, a.gapMs);
        process.stderr.write(' sequential…');
        row.seq = await sequential(o, a.seq, a.phaseSeconds);
        process.stderr.write(' concurrent…');
        row.conc = await concurrent(o, a.conc, a.par, a.phaseSeconds);
        // The raw client's rows differ in their handshake only: their echo would be the 1.3 row's.
        process.stderr.write(RAW_CLIENT[version] ? '\n' : ' echo…\n');
        if (!RAW_CLIENT[version]) {
          row.tp = await throughput(o, ss, a.mb, a.phaseSeconds * 3);
          process.stderr.write(`  ${a.par} open at once…\n`);
          row.shared = await pssAtOnce(o, ss, a.par, a.phaseSeconds * 3);
        }
        const out = ss.output().trim();
        if ((row.seq.n ?? 0) === 0 && out) row.error = `no handshake; stderr: ${out.split('\n').slice(-3).join(' / ')}`;
        rows.push(row);
      }
    } catch (e) {
      rows.push({ impl: impl.name, version: impl.versions.join(','), error: String((e as Error).message ?? e).slice(0, 200) });
    } finally {
      await ss?.stop();
    }
  }
  if (a.json) console.log(JSON.stringify(rows, null, 2));
  else printTable(rows, a);
  console.log(`# ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
