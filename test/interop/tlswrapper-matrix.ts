// Our tlswrapper under tcpserver: every TLS 1.3 suite × every group × every
// certificate key type, each combination handshaken by two of the four real
// clients (openssl s_client, gnutls-cli, Node tls, curl) and round-tripping
// data through `cat` (curl: through an HTTP prog that reports SSL_* env).
//
// Checked per connection: the protocol, suite, group and (where the client
// shows it) signature scheme the client reports, the leaf it got, and the exact
// bytes. Checked per server: the multiset of "handshake done" lines in its
// -v log equals the multiset of (suite, group, sni) we asked for, so even
// curl (which does not print the group) is checked for the group.
import t, { type Test } from 'tap';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { leafCert, type KeyType, type LeafCert } from '../lib/certs';
import { curlClient, gnutlsClient, nodeTlsConnect, opensslClient, type ClientResult } from '../lib/clients';
import { GNUTLS_GROUP, GROUPS, NODE_GROUP, OPENSSL_GROUP, OPENSSL_TEMP, type Group } from '../lib/groups';
import { ours } from '../lib/ours';
import { describe, repoRoot, which } from '../lib/sh';
import { serve, superServerMissing, type SuperServer } from '../lib/superserver';

t.setTimeout(280000);
const HTTP_ENV = path.join(repoRoot, 'test', 'lib', 'progs', 'http-tls-env.sh');

type Suite = 'TLS_CHACHA20_POLY1305_SHA256' | 'TLS_AES_256_GCM_SHA384' | 'TLS_AES_128_GCM_SHA256';
type Client = 'openssl' | 'gnutls' | 'node' | 'curl';

const SUITES: Suite[] = ['TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256'];
const CERTS: KeyType[] = ['rsa2048', 'p256', 'p384', 'ed25519', 'p521'];
const CLIENTS: Client[] = ['openssl', 'gnutls', 'node', 'curl'];

const GNUTLS_CIPHER: Record<Suite, string> = {
  TLS_CHACHA20_POLY1305_SHA256: 'CHACHA20-POLY1305',
  TLS_AES_256_GCM_SHA384: 'AES-256-GCM',
  TLS_AES_128_GCM_SHA256: 'AES-128-GCM',
};

/** What each client shows of the CertificateVerify scheme we must pick for each key. */
const OPENSSL_SIG: Record<KeyType, [string, string]> = {
  // [Signature type, Hash used]
  rsa2048: ['RSA-PSS', 'SHA256'], p256: ['ECDSA', 'SHA256'], p384: ['ECDSA', 'SHA384'],
  p521: ['ECDSA', 'SHA512'], ed25519: ['ed25519', 'UNDEF'],
};
const GNUTLS_SIG: Record<KeyType, string> = {
  rsa2048: 'RSA-PSS-RSAE-SHA256', p256: 'ECDSA-SECP256R1-SHA256', p384: 'ECDSA-SECP384R1-SHA384',
  p521: 'ECDSA-SECP521R1-SHA512', ed25519: 'EdDSA-Ed25519',
};

interface Combo { suite: Suite; group: Group; client: Client; sni: string }

const BATCH = 4;
async function inBatches<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += n) await Promise.all(items.slice(i, i + n).map(fn));
}

function handshakeLines(s: SuperServer): string[] {
  return s.output().split('\n').filter((l) => l.startsWith('tlswrapper: info: handshake done: ')).sort();
}
const logLine = (c: Combo) => `tlswrapper: info: handshake done: TLSv1.3 ${c.suite} ${c.group} sni=${c.sni}`;

function noStackTraces(t: Test, s: SuperServer): void {
  t.notMatch(s.output(), /\n\s+at .+\(.*:\d+:\d+\)|TypeError|RangeError|ReferenceError|Unhandled/, `${s.argv.slice(-1)[0]}: no stack trace in the log`);
}

async function runCombo(t: Test, cert: LeafCert, echo: SuperServer, http: SuperServer, c: Combo): Promise<void> {
  const label = `${cert.keyType} ${c.suite} ${c.group} via ${c.client}`;
  const payload = `${label} ${'x'.repeat(200)} ☃\n`;
  let r: ClientResult;
  switch (c.client) {
    case 'openssl': {
      r = await opensslClient({ port: echo.port, servername: c.sni, caFile: cert.caCert, tls: '1.3',
        ciphersuites: c.suite, groups: OPENSSL_GROUP[c.group], input: payload, until: payload });
      t.equal(r.code, 0, `${label}: exit 0\n${describe(r)}`);
      t.equal(r.data, payload, `${label}: exact bytes back`);
      t.equal(r.protocol, 'TLSv1.3', `${label}: protocol`);
      t.equal(r.cipher, c.suite, `${label}: suite`);
      t.equal(/Server Temp Key: ([^\n]+)/.exec(r.err)?.[1]?.trim(), OPENSSL_TEMP[c.group], `${label}: group`);
      t.equal(r.signature, OPENSSL_SIG[cert.keyType][0], `${label}: signature type`);
      t.equal(/Hash used: ([^\n]+)/.exec(r.err)?.[1]?.trim(), OPENSSL_SIG[cert.keyType][1], `${label}: signature hash`);
      t.equal(r.verified, true, `${label}: chain + name verified`);
      t.equal(r.peer, 'CN = localhost', `${label}: peer`);
      return;
    }
    case 'gnutls': {
      const priority = `NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+${GNUTLS_CIPHER[c.suite]}:-GROUP-ALL:+GROUP-${GNUTLS_GROUP[c.group]}`;
      r = await gnutlsClient({ port: echo.port, servername: c.sni, caFile: cert.caCert, priority, input: payload, until: payload });
      t.equal(r.code, 0, `${label}: exit 0\n${describe(r)}`);
      t.equal(r.data, payload, `${label}: exact bytes back`);
      t.equal(r.protocol, 'TLSv1.3', `${label}: protocol`);
      t.equal(r.cipher, GNUTLS_CIPHER[c.suite], `${label}: suite`);
      t.equal(r.group, GNUTLS_GROUP[c.group], `${label}: group`);
      t.equal(r.signature, GNUTLS_SIG[cert.keyType], `${label}: signature scheme`);
      t.equal(r.verified, true, `${label}: chain + name verified`);
      return;
    }
    case 'node': {
      const cl = await nodeTlsConnect({ port: echo.port, servername: c.sni, caFile: cert.caCert, tls: '1.3',
        ciphers: c.suite, ecdhCurve: NODE_GROUP[c.group] });
      try {
        t.equal(cl.protocol, 'TLSv1.3', `${label}: protocol`);
        t.equal(cl.cipher.name, c.suite, `${label}: suite`);
        t.equal((cl.ephemeral as { name?: string }).name, NODE_GROUP[c.group], `${label}: group`);
        t.ok(cl.authorized, `${label}: authorized`);
        t.equal(cl.peerCertificate.fingerprint256, cert.leafSha256, `${label}: the leaf we configured`);
        const data = Buffer.concat([Buffer.from(payload), Buffer.alloc(70000, label)]);
        await cl.send(data);
        const got = await cl.readUntil(data.length);
        t.ok(got.equals(data), `${label}: ${data.length} exact bytes back`);
        const all = await cl.endAndReadAll();
        t.equal(all.length, data.length, `${label}: nothing more after close_notify`);
      } finally { cl.destroy(); }
      return;
    }
    case 'curl': {
      r = await curlClient({ port: http.port, servername: c.sni, caFile: cert.caCert, tls: '1.3',
        tls13Ciphers: c.suite, curves: OPENSSL_GROUP[c.group], urlPath: `/${cert.keyType}/${c.group}` });
      t.equal(r.code, 0, `${label}: exit 0\n${describe(r)}`);
      t.equal(r.data, `GET /${cert.keyType}/${c.group} HTTP/1.1 proto=TLSv1.3 cipher=${c.suite} sni=${c.sni}\n`, `${label}: body (prog's SSL_* env)`);
      t.equal(r.protocol, 'TLSv1.3', `${label}: protocol`);
      t.equal(r.cipher, c.suite, `${label}: suite`);
      t.equal(r.verified, true, `${label}: verified`);
      t.match(r.err, /subject: CN=localhost/, `${label}: subject`);
      return;
    }
  }
}

const missing = superServerMissing('tcpserver')
  ?? (['gnutls-cli', 'curl', 'openssl'].find((c) => !which(c)) ? 'gnutls-cli, curl and openssl are needed' : null);

if (missing) {
  t.plan(0, missing);
} else {
  let n = 0;
  const perClient: Record<Client, number> = { openssl: 0, gnutls: 0, node: 0, curl: 0 };
  for (const [ci, keyType] of CERTS.entries()) {
    t.test(`${keyType} certificate: 3 suites × 4 groups × 2 clients each`, async (t) => {
      const cert = leafCert(keyType, ['localhost', 'matrix.test']);
      // Default groups (x25519, secp256r1) and one with all four -e.
      const all = ['-e', 'x25519', '-e', 'secp256r1', '-e', 'secp384r1', '-e', 'secp521r1'];
      const servers = {
        def: await Promise.all([serve(t, 'tcpserver', ours(['-v', '-f', cert.pem, 'cat'])),
          serve(t, 'tcpserver', ours(['-v', '-f', cert.pem, HTTP_ENV]))]),
        ext: await Promise.all([serve(t, 'tcpserver', ours(['-v', ...all, '-f', cert.pem, 'cat'])),
          serve(t, 'tcpserver', ours(['-v', ...all, '-f', cert.pem, HTTP_ENV]))]),
      };
      const combos: Array<Combo & { on: 'def' | 'ext' }> = [];
      for (const [si, suite] of SUITES.entries()) {
        for (const [gi, group] of GROUPS.entries()) {
          const k = si + gi + ci;
          // Two different clients per combination; over the five certificates every
          // client meets every suite and every group.
          for (const client of [CLIENTS[k % 4], CLIENTS[(k + 2) % 4]]) {
            combos.push({ suite, group, client, sni: (k % 2) ? 'matrix.test' : 'localhost',
              on: group === 'x25519' || group === 'secp256r1' ? (k % 3 ? 'def' : 'ext') : 'ext' });
            perClient[client]++;
          }
        }
      }
      n += combos.length;
      await inBatches(combos, BATCH, async (c) => {
        const [echo, http] = servers[c.on];
        await runCombo(t, cert, echo, http, c);
      });
      // Server side: exactly the handshakes we asked for, with the group we asked for.
      for (const on of ['def', 'ext'] as const) {
        const want = combos.filter((c) => c.on === on).map((c) => ({ c, line: logLine(c) }));
        const [echo, http] = servers[on];
        const got = [...handshakeLines(echo), ...handshakeLines(http)].sort();
        t.same(got, want.map((w) => w.line).sort(), `${on} servers: one "handshake done" line per connection, with the asked suite/group/sni`);
        noStackTraces(t, echo); noStackTraces(t, http);
      }

      // Negative controls: the default server has no P-384/P-521; the -e server has them.
      const neg = await opensslClient({ port: servers.def[0].port, caFile: cert.caCert, tls: '1.3', groups: 'P-384:P-521', input: 'x', until: 'x', timeoutMs: 8000 });
      t.not(neg.code, 0, 'default groups: a P-384/P-521-only client fails');
      t.notOk(neg.timedOut, 'and fails fast');
      t.match(neg.err, /alert handshake failure|handshake failure|alert/i, `an alert: ${neg.err.split('\n').slice(-3).join(' | ')}`);
      const negSuite = await gnutlsClient({ port: servers.def[0].port, caFile: cert.caCert,
        priority: 'NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-CCM', input: 'x', until: 'x', timeoutMs: 8000 });
      t.not(negSuite.code, 0, 'a client offering only TLS_AES_128_CCM_SHA256 fails');
      t.notOk(negSuite.timedOut, 'and fails fast');
    });
  }
  t.test('-c order, -s/-S preference, HelloRetryRequest', async (t) => {
    const cert = leafCert('p256', ['localhost']);
    const suite = (r: ClientResult) => `${r.code} ${r.cipher}`;
    // -c lists the suites and their order; -s (default) follows it.
    const s = await serve(t, 'tcpserver', ours(['-c', 'AES_128_GCM_SHA256', '-c', 'AES_256_GCM_SHA384', '-f', cert.pem, 'cat']));
    const all = await opensslClient({ port: s.port, caFile: cert.caCert, tls: '1.3',
      ciphersuites: 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256', input: 'a', until: 'a' });
    t.equal(suite(all), '0 TLS_AES_128_GCM_SHA256', 'server order: the first -c');
    const cha = await opensslClient({ port: s.port, caFile: cert.caCert, tls: '1.3', ciphersuites: 'TLS_CHACHA20_POLY1305_SHA256', input: 'a', until: 'a', timeoutMs: 8000 });
    t.not(cha.code, 0, 'a suite not in -c is refused');
    t.notOk(cha.timedOut);
    const S = await serve(t, 'tcpserver', ours(['-S', '-f', cert.pem, 'cat']));
    for (const order of ['TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256',
      'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256']) {
      const r = await opensslClient({ port: S.port, caFile: cert.caCert, tls: '1.3', ciphersuites: order, input: 'a', until: 'a' });
      t.equal(suite(r), `0 ${order.split(':')[0]}`, `-S: the client's first (${order})`);
    }
    const def = await serve(t, 'tcpserver', ours(['-f', cert.pem, 'cat']));
    const r = await opensslClient({ port: def.port, caFile: cert.caCert, tls: '1.3', ciphersuites: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384', input: 'a', until: 'a' });
    t.equal(suite(r), '0 TLS_AES_256_GCM_SHA384', 'default -s: our order (CHACHA20, AES-256, AES-128) wins');
    // HRR: openssl sends a key share for its first group only.
    const msgFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'matrix-hrr-')), 'msg');
    t.teardown(() => fs.rmSync(path.dirname(msgFile), { recursive: true, force: true }));
    const nist = await serve(t, 'tcpserver', ours(['-v', '-e', 'secp384r1', '-f', cert.pem, 'cat']));
    const h = await opensslClient({ port: nist.port, caFile: cert.caCert, tls: '1.3', groups: 'X25519:P-256:P-384', input: 'hrr\n', until: 'hrr\n', extra: ['-msg', '-msgfile', msgFile] });
    t.equal(h.code, 0, describe(h));
    t.equal(h.data, 'hrr\n', 'data after the retry');
    t.equal(/Server Temp Key: ([^\n]+)/.exec(h.err)?.[1], 'ECDH, secp384r1, 384 bits', 'P-384 after HelloRetryRequest');
    t.equal((fs.readFileSync(msgFile, 'utf8').match(/>>> TLS 1\.3, Handshake \[length [0-9a-f]+\], ClientHello/g) ?? []).length, 2, 'two ClientHellos (HRR happened)');
    const g = await gnutlsClient({ port: nist.port, caFile: cert.caCert,
      priority: 'NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP384R1', input: 'g\n', until: 'g\n' });
    t.equal(g.code, 0, describe(g));
    t.equal(g.group, 'SECP384R1', 'gnutls after HRR');
    t.equal(g.data, 'g\n');
  });

  t.test('hand-built ClientHellos: GREASE, padding, fragmented records, byte-by-byte', async (t) => {
    const cert = leafCert('p256', ['localhost']);
    const s = await serve(t, 'tcpserver', ours(['-vv', '-f', cert.pem, 'cat']));
    const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);
    const ext = (type: number, body: Buffer) => Buffer.concat([u16(type), u16(body.length), body]);
    const hello = (grease: boolean, padTo = 0) => {
      const pub = crypto.generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
      const G = grease ? [0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a] : [];
      const list = (xs: number[]) => Buffer.concat([u16(xs.length * 2), ...xs.map(u16)]);
      const shares = Buffer.concat([...(grease ? [u16(G[2]), u16(1), Buffer.from([0])] : []), u16(0x1d), u16(32), pub]);
      const name = Buffer.from('localhost');
      let exts = Buffer.concat([
        ...(grease ? [ext(G[0], Buffer.alloc(0))] : []),
        ext(0, Buffer.concat([u16(name.length + 3), Buffer.from([0]), u16(name.length), name])),
        ext(23, Buffer.alloc(0)), ext(65281, Buffer.from([0])), // extended_master_secret, renegotiation_info
        ext(10, list([...G.slice(2, 3), 0x1d, 0x17, 0x18])),
        ext(11, Buffer.from([1, 0])), // ec_point_formats
        ext(35, Buffer.alloc(0)), // session_ticket
        ext(16, Buffer.from([0, 12, 2, 0x68, 0x32, 8, ...Buffer.from('http/1.1')])), // ALPN h2, http/1.1
        ext(5, Buffer.from([1, 0, 0, 0, 0])), // status_request
        ext(13, list([0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601])),
        ext(18, Buffer.alloc(0)), // signed_certificate_timestamp
        ext(51, Buffer.concat([u16(shares.length), shares])),
        ext(45, Buffer.from([1, 1])), // psk_key_exchange_modes
        ext(43, Buffer.concat([Buffer.from([grease ? 6 : 4]), ...(grease ? [u16(G[3])] : []), u16(0x0304), u16(0x0303)])),
        ext(27, Buffer.from([2, 0, 2])), // compress_certificate (brotli)
        ...(grease ? [ext(G[4], Buffer.from([0]))] : []),
      ]);
      const suites = list([...G.slice(1, 2), 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xcca9]);
      const head = () => Buffer.concat([Buffer.from([3, 3]), crypto.randomBytes(32), Buffer.from([32]), crypto.randomBytes(32), suites, Buffer.from([1, 0])]);
      const h0 = head();
      if (padTo) {
        const have = 4 + h0.length + 2 + exts.length + 4;
        exts = Buffer.concat([exts, ext(21, Buffer.alloc(Math.max(0, padTo - have)))]);
      }
      const body = Buffer.concat([h0, u16(exts.length), exts]);
      return Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 255]), body]);
    };
    const records = (hs: Buffer, size: number) => {
      const out: Buffer[] = [];
      for (let i = 0; i < hs.length; i += size) {
        const part = hs.subarray(i, i + size);
        out.push(Buffer.from([0x16, 3, 1]), u16(part.length), part);
      }
      return Buffer.concat(out);
    };
    /** Send `bytes` (in `chunks` TCP writes, `gapMs` apart); resolve with the server's first record. */
    const firstRecord = (bytes: Buffer, chunks = 1, gapMs = 0) => new Promise<Buffer>((resolve) => {
      const sock = net.connect(s.port, '127.0.0.1');
      let got = Buffer.alloc(0);
      const tm = setTimeout(() => { sock.destroy(); resolve(got); }, 10000);
      sock.on('data', (d) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) { clearTimeout(tm); sock.destroy(); resolve(got.subarray(0, 5 + got.readUInt16BE(3))); }
      });
      sock.on('error', () => {});
      sock.on('close', () => { clearTimeout(tm); resolve(got); });
      (async () => {
        const step = Math.ceil(bytes.length / chunks);
        for (let i = 0; i < bytes.length; i += step) {
          sock.write(bytes.subarray(i, i + step));
          if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
        }
      })();
    });
    const serverHello = (t: Test, label: string, rec: Buffer) => {
      t.equal(rec[0], 0x16, `${label}: a handshake record (${rec.subarray(0, 7).toString('hex')})`);
      t.equal(rec[5], 2, `${label}: ServerHello`);
      if (rec[5] !== 2) return;
      const sidLen = rec[5 + 4 + 2 + 32];
      const at = 5 + 4 + 2 + 32 + 1 + sidLen;
      t.equal(rec.readUInt16BE(at), 0x1303, `${label}: TLS_CHACHA20_POLY1305_SHA256 (not GREASE, not TLS 1.2)`);
      t.ok(rec.includes(Buffer.from([0, 43, 0, 2, 3, 4])), `${label}: supported_versions = TLS 1.3`);
      t.ok(rec.includes(Buffer.from([0, 51, 0, 36, 0, 0x1d, 0, 32])), `${label}: key_share x25519`);
    };
    serverHello(t, 'browser-like with GREASE', await firstRecord(records(hello(true), 16384)));
    serverHello(t, 'padded to 512 bytes', await firstRecord(records(hello(false, 512), 16384)));
    serverHello(t, 'GREASE, padded to 1800 bytes', await firstRecord(records(hello(true, 1800), 16384)));
    serverHello(t, 'in 7 records of 100 bytes', await firstRecord(records(hello(true), 100)));
    serverHello(t, 'in one-byte records', await firstRecord(records(hello(false), 1)));
    serverHello(t, 'one TCP write per byte, 2 ms apart', await firstRecord(records(hello(true), 16384), 10000, 2));
    t.notMatch(s.output(), /\n\s+at .+:\d+:\d+|TypeError|RangeError/, 'no stack trace');
  });

  t.test('coverage of the matrix', async (t) => {
    t.equal(n, CERTS.length * SUITES.length * GROUPS.length * 2, 'every combination twice');
    for (const c of CLIENTS) t.ok(perClient[c] >= 25, `${c}: ${perClient[c]} connections`);
  });
}
