// Our tlswrapper under each real super-server (tcpserver, busybox tcpsvd,
// systemd-socket-activate --inetd -a): the same round trips with openssl,
// curl and Node, the -v log line reaching the super-server's stderr, and
// concurrent connections. (The command lines in examples/: examples.ts.)
import t, { type Test } from 'tap';
import * as path from 'node:path';
import { leafCert } from '../lib/certs';
import { curlClient, nodeTlsConnect, nodeTlsEcho, opensslClient, progs } from '../lib/clients';
import { connections } from '../lib/procs';
import { TLSWRAPPER, ours } from '../lib/ours';
import { describe, repoRoot, waitFor } from '../lib/sh';
import { SUPER_SERVERS, serve, superServerMissing, type SuperServer } from '../lib/superserver';

t.setTimeout(200000);
const HTTP_ENV = path.join(repoRoot, 'test', 'lib', 'progs', 'http-tls-env.sh');
const NO_STACK = /\n\s+at .+:\d+:\d+|TypeError|RangeError|ReferenceError|node:internal|Node\.js v\d/;
const cert = leafCert('p384', ['localhost', 'ss.test']);

async function roundTrips(t: Test, echo: SuperServer, http: SuperServer): Promise<void> {
  const o = await opensslClient({ port: echo.port, servername: 'ss.test', caFile: cert.caCert, tls: '1.3', input: `openssl via ${echo.kind}\n`, until: `openssl via ${echo.kind}\n` });
  t.equal(o.code, 0, describe(o));
  t.equal(o.data, `openssl via ${echo.kind}\n`, 'openssl: exact bytes');
  t.equal(o.protocol, 'TLSv1.3');
  t.equal(o.cipher, 'TLS_CHACHA20_POLY1305_SHA256', 'openssl: our first suite');
  t.equal(/Server Temp Key: ([^\n]+)/.exec(o.err)?.[1], 'X25519, 253 bits');
  t.equal(o.signature, 'ECDSA');
  t.equal(/Hash used: (\S+)/.exec(o.err)?.[1], 'SHA384', 'P-384 key: ecdsa_secp384r1_sha384');
  t.equal(o.verified, true);

  const c = await curlClient({ port: http.port, caFile: cert.caCert, tls: '1.3', urlPath: `/${http.kind}`, tls13Ciphers: 'TLS_AES_256_GCM_SHA384' });
  t.equal(c.code, 0, describe(c));
  t.equal(c.data, `GET /${http.kind} HTTP/1.1 proto=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 sni=localhost\n`, 'curl: body with the SSL_* env');
  t.equal(c.verified, true);

  const data = Buffer.alloc(300000, `node via ${echo.kind} `);
  const { client, echoed } = await nodeTlsEcho({ port: echo.port, caFile: cert.caCert, tls: '1.3', data, ecdhCurve: 'P-256' });
  t.equal(client.protocol, 'TLSv1.3');
  t.equal((client.ephemeral as { name?: string }).name, 'prime256v1', 'node: secp256r1');
  t.equal(client.peerCertificate.fingerprint256, cert.leafSha256, 'node: our leaf');
  t.ok(echoed.equals(data), 'node: 300000 bytes round-trip');

  const n = await nodeTlsConnect({ port: http.port, caFile: cert.caCert, tls: '1.3', servername: 'ss.test' });
  await n.send('GET /close HTTP/1.0\r\n\r\n');
  const all = (await n.readToClose()).toString();
  t.match(all, /^HTTP\/1\.0 200 OK\r\n/, 'node: prog that answers and exits');
  t.match(all, /\r\n\r\nGET \/close HTTP\/1\.0 proto=TLSv1\.3 cipher=TLS_CHACHA20_POLY1305_SHA256 sni=ss\.test\n$/);
}

for (const kind of SUPER_SERVERS) {
  t.test(`${kind}: openssl, curl, node`, { skip: superServerMissing(kind) ?? false }, async (t) => {
    const echo = await serve(t, kind, ours(['-v', '-f', cert.pem, 'cat']));
    const http = await serve(t, kind, ours(['-v', '-f', cert.pem, HTTP_ENV]));
    await roundTrips(t, echo, http);
    // The -v line goes through the super-server's stderr.
    await waitFor(() => /handshake done/.test(echo.output()) && /handshake done/.test(http.output()), 3000);
    t.match(echo.output(), /^tlswrapper: info: handshake done: TLSv1\.3 TLS_CHACHA20_POLY1305_SHA256 x25519 sni=ss\.test$/m, 'log line (openssl)');
    t.match(echo.output(), /^tlswrapper: info: handshake done: TLSv1\.3 TLS_CHACHA20_POLY1305_SHA256 secp256r1 sni=localhost$/m, 'log line (node)');
    t.match(http.output(), /^tlswrapper: info: handshake done: TLSv1\.3 TLS_AES_256_GCM_SHA384 x25519 sni=localhost$/m, 'log line (curl)');
    t.notMatch(echo.output() + http.output(), NO_STACK, 'no stack trace');

    // prog's environment: the super-server's and ours, minus NODE_OPTIONS, plus SSL_*, PROTO and TCP*.
    const envArgv = ['/usr/bin/env', 'NODE_OPTIONS=--max-old-space-size=256', 'SSL_TLS_SNI_SERVERNAME=spoofed', 'FOO=bar baz',
      'PROTO=UDP', ...(kind === 'tcpserver' ? [] : ['TCPREMOTEIP=192.0.2.66']), TLSWRAPPER, '-f', cert.pem, progs.env];
    const envS = await serve(t, kind, envArgv);
    for (const sni of ['ss.test', null]) {
      const e = await nodeTlsConnect({ port: envS.port, caFile: sni ? cert.caCert : undefined, servername: sni ?? '', tls: '1.3' });
      const clientPort = e.socket.localPort;
      const env = (await e.readToClose()).toString().split('\n');
      // tcpserver: its own TCP*; tcpsvd: its TCP*ADDR; systemd-socket-activate sets
      // no address variables: netproc's getsockname/getpeername. An inherited
      // PROTO, and a lone TCPREMOTEIP (env runs after the super-server: under
      // tcpserver it would replace tcpserver's own), never reach prog.
      t.same(env.filter((l) => /^(PROTO|TCP(LOCAL|REMOTE)(IP|PORT))=/.test(l)), [
        'PROTO=TCP', 'TCPLOCALIP=127.0.0.1', `TCPLOCALPORT=${envS.port}`, 'TCPREMOTEIP=127.0.0.1', `TCPREMOTEPORT=${clientPort}`,
      ], 'PROTO and TCP*: exact, the remote port the client\'s');
      t.ok(env.includes('SSL_PROTOCOL=TLSv1.3'), `${sni ?? 'no SNI'}: SSL_PROTOCOL`);
      t.ok(env.includes('SSL_CIPHER=TLS_CHACHA20_POLY1305_SHA256'), 'SSL_CIPHER');
      t.same(env.filter((l) => l.startsWith('SSL_TLS_SNI_SERVERNAME=')), sni ? [`SSL_TLS_SNI_SERVERNAME=${sni}`] : [],
        sni ? 'SSL_TLS_SNI_SERVERNAME is the client\'s name' : 'no SNI: SSL_TLS_SNI_SERVERNAME unset (not the inherited one)');
      t.same(env.filter((l) => l.startsWith('NODE_OPTIONS=')), [], 'no NODE_OPTIONS');
      t.ok(env.includes('FOO=bar baz'), 'the rest of the environment is passed on');
      // What each super-server itself sets reaches prog too.
      if (kind === 'tcpserver') t.ok(env.includes('TCPREMOTEIP=127.0.0.1'), 'tcpserver\'s TCPREMOTEIP reaches prog');
      if (kind === 'tcpsvd') t.ok(env.some((l) => /^TCPREMOTEADDR=127\.0\.0\.1:\d+$/.test(l)), 'tcpsvd\'s TCPREMOTEADDR reaches prog');
    }

    // Eight connections at once, each held open until all are up: eight
    // connections' process sets under the super-server, each echoing its own bytes.
    const clients = await Promise.all(Array.from({ length: 8 }, () => nodeTlsConnect({ port: echo.port, caFile: cert.caCert, tls: '1.3' })));
    await Promise.all(clients.map(async (cl, i) => { await cl.send(`client ${i}\n`); await cl.readUntil(`client ${i}\n`); }));
    const conns = await waitFor(() => connections(echo.pid).length >= 8 ? connections(echo.pid) : null, 3000);
    t.equal(conns?.length, 8, 'eight connections under the super-server');
    for (const [i, cl] of clients.entries()) t.equal(cl.received().toString(), `client ${i}\n`, `client ${i}: its own bytes only`);
    await Promise.all(clients.map((cl) => cl.endAndReadAll()));
    const gone = await waitFor(() => connections(echo.pid).length === 0, 5000);
    t.ok(gone, 'every connection\'s processes are gone after close_notify');
  });
}
