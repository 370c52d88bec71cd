// X25519MLKEM768, the post-quantum hybrid today's browsers offer first, through
// the real binary (netproc jailed when it encapsulates): headless Chromium
// fetching a page through tlswrapper and tlswrapper-server; our raw TLS 1.3
// client offering only the hybrid; openssl 3.0 (no ML-KEM) still getting
// X25519; a corrupted hybrid share getting illegal_parameter.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { leafCert } from '../lib/certs';
import { opensslClient, progs } from '../lib/clients';
import { ours } from '../lib/ours';
import { RawTls13Client } from '../lib/rawtls13';
import { waitFor } from '../lib/sh';
import { serve, superServerMissing, type SuperServer, type SuperServerKind } from '../lib/superserver';
import { clientHello } from '../../tls/rehearsal';
import { plaintextRecord } from '../../tls/record';

t.setTimeout(240000);
const cert = leafCert('p256', ['localhost']);
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const missing = superServerMissing('tcpserver');
/** Under load a connection of ours takes seconds. */
const CONNECT_MS = 30000;
const LOG_MS = 20000;

/** Headless Chromium fetches https://localhost:PORT/ and prints the page (the certificate is ours, made in the test). */
async function chromiumFetch(port: number): Promise<{ page: string; err: string; status: number | null }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-chromium-'));
  try {
    const p = spawn(CHROMIUM!, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`, '--ignore-certificate-errors', '--virtual-time-budget=20000',
      '--dump-dom', `https://localhost:${port}/mlkem`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let page = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (page += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 90000);
    const [status] = (await once(p, 'close')) as [number | null];
    clearTimeout(timer);
    return { page, err, status };
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * Our log lines reach the super-server's output a little after the client is
 * done: the entry's "handshake done: TLSv1.3 SUITE GROUP" at -v, or
 * tlswrapper-server's line for the connection, "TLSv1.3 SUITE GROUP, status N".
 */
const HYBRID_LOGGED = /TLSv1\.3 \S+ X25519MLKEM768/;
const logged = (s: SuperServer, re: RegExp) => waitFor(() => re.test(s.output()), LOG_MS).then(() => s.output(), () => s.output());

if (missing) {
  t.plan(0, missing);
} else {
  for (const kind of ['tcpserver', 'tlswrapper-server'] as SuperServerKind[]) {
    t.test(`${kind}: Chromium gets X25519MLKEM768 by default`, { skip: CHROMIUM ? false : 'no chromium (apt-get install chromium; .ci/run does)' }, async (t) => {
      const s = await serve(t, kind, ours(['-v', '-f', cert.pem, progs.http]));
      const r = await chromiumFetch(s.port);
      if (!/hello over tls/.test(r.page)) t.comment(`chromium (exit ${r.status}) said: ${r.err.split('\n').filter((l) => !/dbus/.test(l)).join('\n')}`);
      t.match(r.page, /hello over tls: GET \/mlkem HTTP\/1\.1/, `the page came through (chromium exit ${r.status})`);
      t.match(await logged(s, /TLSv1\.3/), HYBRID_LOGGED, 'our log names the hybrid group');
    });

    t.test(`${kind}: a client offering only the hybrid: handshake, data both ways`, async (t) => {
      const s = await serve(t, kind, ours(['-v', '-f', cert.pem, 'cat']));
      const c = await RawTls13Client.connect(s.port, CONNECT_MS, 'X25519MLKEM768');
      c.send(23, Buffer.from('kyber\n'));
      const back = await c.record();
      t.same({ type: back.type, text: Buffer.from(back.content).toString() }, { type: 23, text: 'kyber\n' }, 'echoed under the derived keys');
      c.socket.destroy();
      t.match(await logged(s, /TLSv1\.3/), HYBRID_LOGGED, 'our log names the hybrid group');
    });
  }

  t.test('openssl 3.0 (no ML-KEM) still gets X25519 from the default groups', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-v', '-f', cert.pem, 'cat']));
    const r = await opensslClient({ port: s.port, caFile: cert.caCert, tls: '1.3', input: 'classic\n', until: 'classic\n' });
    t.equal(r.data, 'classic\n', 'echoed');
    t.match(await logged(s, /handshake done/), /handshake done: TLSv1\.3 \S+ x25519/);
  });

  t.test('-e x25519 takes the hybrid out: a hybrid-only client is refused', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-e', 'x25519', '-f', cert.pem, 'cat']));
    await t.rejects(RawTls13Client.connect(s.port, CONNECT_MS, 'X25519MLKEM768'), 'no handshake');
  });

  t.test('a corrupted hybrid share: illegal_parameter, nothing else', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-vv', '-f', cert.pem, 'cat']));
    const share = new Uint8Array([...ml_kem768.keygen().publicKey, ...new Uint8Array(32).fill(9)]);
    // FIPS 203 7.2: a 12-bit coefficient of 4095 (>= q) in the encapsulation key.
    share[0] = 0xff;
    share[1] |= 0x0f;
    const sock = net.connect(s.port, '127.0.0.1');
    await once(sock, 'connect');
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    sock.write(plaintextRecord(22, clientHello(0x1301, 0x11ec, share, [0x0403, 0x0804]), 0x0301));
    await Promise.race([once(sock, 'close'), new Promise((r) => setTimeout(r, CONNECT_MS))]);
    t.same([...Buffer.concat(got)], [21, 3, 3, 0, 2, 2, 47], 'one fatal illegal_parameter alert, then the close');
    sock.destroy();
    t.match(await logged(s, /ML-KEM/), /ML-KEM-768 encapsulation key/, 'the log says why');
  });
}
