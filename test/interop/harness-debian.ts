// Proves the test harness (test/lib) against Debian's tlswrapper, which is
// known to work: every super-server × every client, TLS 1.2 (Debian's is
// BearSSL, TLS 1.2 only), plus the /proc helpers on its jailed processes.
// When a test here fails, suspect the harness or the machine, not our code.
import t from 'tap';
import * as fs from 'node:fs';
import { certDir, leafCert, type KeyType } from '../lib/certs';
import { curlClient, gnutlsClient, nodeTlsConnect, nodeTlsEcho, opensslClient, progs } from '../lib/clients';
import { connectionForClient, connections, readLimits, searchMemory, type ProcInfo } from '../lib/procs';
import { describe, waitFor, which } from '../lib/sh';
import { SUPER_SERVERS, serve, superServerMissing } from '../lib/superserver';

const DEBIAN = '/usr/bin/tlswrapper';
t.setTimeout(240000);

if (!fs.existsSync(DEBIAN)) {
  t.plan(0, `${DEBIAN} not installed (apt-get install tlswrapper)`);
} else {
  const cert = leafCert('p256', ['localhost', 'tls.test']);

  for (const kind of SUPER_SERVERS) {
    const missing = superServerMissing(kind);
    t.test(`${kind}: all clients, TLS 1.2`, { skip: missing ?? false }, async (t) => {
      const echo = await serve(t, kind, [DEBIAN, '-f', cert.pem, 'cat']);
      const http = await serve(t, kind, [DEBIAN, '-f', cert.pem, progs.http]);

      await t.test('openssl s_client echo', async (t) => {
        const r = await opensslClient({ port: echo.port, caFile: cert.caCert, tls: '1.2', input: 'ping openssl\n', until: 'ping openssl\n' });
        t.equal(r.code, 0, describe(r));
        t.equal(r.data, 'ping openssl\n');
        t.equal(r.protocol, 'TLSv1.2');
        t.equal(r.verified, true, 'chain and name verified');
        t.match(r.cipher ?? '', /^ECDHE-ECDSA-/);
      });

      await t.test('gnutls-cli echo', { skip: which('gnutls-cli') ? false : 'gnutls-cli not installed' }, async (t) => {
        const r = await gnutlsClient({ port: echo.port, caFile: cert.caCert, tls: '1.2', input: 'ping gnutls\n', until: 'ping gnutls\n' });
        t.equal(r.code, 0, describe(r));
        t.equal(r.data, 'ping gnutls\n');
        t.equal(r.protocol, 'TLSv1.2');
        t.equal(r.verified, true);
      });

      await t.test('curl against the HTTP responder', { skip: which('curl') ? false : 'curl not installed' }, async (t) => {
        const r = await curlClient({ port: http.port, servername: 'tls.test', caFile: cert.caCert, tls: '1.2', urlPath: '/hello' });
        t.equal(r.code, 0, describe(r));
        t.equal(r.data, 'hello over tls: GET /hello HTTP/1.1\n');
        t.equal(r.protocol, 'TLSv1.2');
        t.equal(r.verified, true);
      });

      await t.test('node tls echo', async (t) => {
        const data = Buffer.alloc(100000, 'abcdefghij');
        const { client, echoed } = await nodeTlsEcho({ port: echo.port, caFile: cert.caCert, tls: '1.2', data });
        t.equal(client.protocol, 'TLSv1.2');
        t.ok(client.authorized, 'authorized');
        t.ok(echoed.equals(data), '100000 bytes round-trip');
      });

      await t.test('node tls: prog that answers and closes', async (t) => {
        const c = await nodeTlsConnect({ port: http.port, caFile: cert.caCert, tls: '1.2' });
        await c.send('GET /x HTTP/1.0\r\n\r\n');
        const all = (await c.readToClose()).toString();
        t.match(all, /^HTTP\/1\.0 200 OK\r\n/);
        t.match(all, /hello over tls: GET \/x HTTP\/1\.0\n$/);
      });
    });
  }

  t.test('negative controls: the clients really pin what they are told', async (t) => {
    const s = await serve(t, 'tcpserver', [DEBIAN, '-f', cert.pem, 'cat']);
    const o = await opensslClient({ port: s.port, caFile: cert.caCert, tls: '1.3', input: 'x', until: 'x', timeoutMs: 8000 });
    t.not(o.code, 0, 'openssl -tls1_3 fails against a TLS 1.2 server');
    t.notOk(o.timedOut, 'and fails fast');
    const g = await gnutlsClient({ port: s.port, caFile: cert.caCert, tls: '1.3', input: 'x', until: 'x', timeoutMs: 8000 });
    t.not(g.code, 0, 'gnutls-cli TLS 1.3 only fails');
    await t.rejects(nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.3' }), 'node TLS 1.3 only fails');
    const other = leafCert('p256', ['localhost']); // same CA: name check must fail for a name not in the cert
    const wrong = await opensslClient({ port: s.port, caFile: other.caCert, servername: 'not-in-cert.test', tls: '1.2', input: 'x', until: 'x', timeoutMs: 8000 });
    t.not(wrong.code, 0, 'name not in the certificate is refused by openssl -verify_hostname');
    const nodeWrong = nodeTlsConnect({ port: s.port, caFile: cert.caCert, servername: 'not-in-cert.test', tls: '1.2' });
    await t.rejects(nodeWrong, 'and by node');
  });

  // Key types Debian's BearSSL build serves (it has no Ed25519 server keys).
  const keyTypes: KeyType[] = ['rsa2048', 'p256', 'p384', 'p521'];
  t.test('certificates of each key type, and an intermediate chain', async (t) => {
    for (const kt of keyTypes) {
      for (const intermediate of [false, true]) {
        const c = leafCert(kt, ['localhost'], { intermediate });
        const s = await serve(t, 'tcpserver', [DEBIAN, '-f', c.pem, 'cat']);
        const r = await opensslClient({ port: s.port, caFile: c.caCert, tls: '1.2', input: 'k\n', until: 'k\n' });
        t.equal(r.code, 0, `${kt}${intermediate ? ' via intermediate' : ''}: ${describe(r)}`);
        t.equal(r.verified, true, `${kt}${intermediate ? ' via intermediate' : ''} verified against the root only`);
        t.match(r.signature ?? '', kt === 'rsa2048' ? /RSA/ : /ECDSA/, `${kt}: signature type ${r.signature}`);
        await s.stop();
      }
    }
    const trad = leafCert('p256', ['localhost'], { keyFormat: 'traditional' });
    t.match(fs.readFileSync(trad.pem, 'utf8'), /^-----BEGIN EC PRIVATE KEY-----/, 'traditional key format');
    const s = await serve(t, 'tcpserver', [DEBIAN, '-f', trad.pem, 'cat']);
    const r = await opensslClient({ port: s.port, caFile: trad.caCert, tls: '1.2', input: 'k\n', until: 'k\n' });
    t.equal(r.code, 0, `traditional EC key: ${describe(r)}`);
    const ed = leafCert('ed25519', ['localhost']);
    t.match(fs.readFileSync(ed.pem, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n[\s\S]*-----BEGIN CERTIFICATE-----[\s\S]*-----BEGIN CERTIFICATE-----/, 'ed25519 PEM: key, leaf, CA');
    t.equal(ed.secrets.length, 1); t.equal(ed.secrets[0].length, 32, 'ed25519 seed is 32 bytes');
    t.equal(leafCert('rsa2048').secrets.length, 3, 'rsa: d, p, q');
    t.equal(leafCert('p521').secrets[0].length, 66, 'P-521 scalar is 66 bytes');
  });

  t.test('certdir (-d): file chosen by SNI', async (t) => {
    const d = certDir([{ name: 'one.test', keyType: 'p256' }, { name: 'two.test', keyType: 'rsa2048' }]);
    const s = await serve(t, 'tcpserver', [DEBIAN, '-d', d.dir, 'cat']);
    for (const name of ['one.test', 'two.test']) {
      const r = await opensslClient({ port: s.port, servername: name, caFile: d.caCert, tls: '1.2', input: 'n\n', until: 'n\n' });
      t.equal(r.code, 0, describe(r));
      t.equal(r.peer, `CN = ${name}`);
    }
  });

  t.test('procs: a connection\'s processes, ids, jail, limits, memory', async (t) => {
    const s = await serve(t, 'tcpserver', [DEBIAN, '-f', cert.pem, 'cat']);
    const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.2' });
    t.teardown(() => c.destroy());
    await c.send('hold\n');
    await c.readUntil('hold\n');
    const conns = await waitFor(() => {
      const cs = connections(s.pid);
      return cs.length === 1 && cs[0].procs.length >= 3 ? cs : null;
    }, 5000);
    t.ok(conns, 'one connection with its processes');
    if (!conns) return;
    t.equal(connectionForClient(s.pid, s.port, c.socket.localPort ?? 0)?.pid, conns[0].pid, 'found by the client\'s port too');
    const procs = conns[0].procs;
    t.comment(procs.map((p) => `${p.pid} ppid=${p.ppid} ${p.comm} uid=${p.uid[0]} root=${p.root}`).join('\n'));
    // Debian's layout: the exec'd process becomes the network process (jailed),
    // it forks the key process (jailed) and prog (cat, unjailed).
    const jailed = procs.filter((p) => p.comm === 'tlswrapper');
    const prog = procs.find((p) => p.comm === 'cat') as ProcInfo | undefined;
    t.equal(jailed.length, 2, 'network process and key process');
    for (const p of jailed) {
      t.not(p.uid[0], 0, `${p.pid}: non-zero real uid`);
      t.same(new Set(p.uid).size, 1, `${p.pid}: real = effective = saved = fs uid`);
      t.not(p.gid[0], 0, `${p.pid}: non-zero gid`);
      t.equal(p.root, '/var/lib/tlswrapper/empty', `${p.pid}: chrooted to the empty dir`);
      const lim = readLimits(p.pid);
      t.equal(lim['Max open files']?.soft, 0, `${p.pid}: RLIMIT_NOFILE 0`);
      t.equal(lim['Max processes']?.soft, 0, `${p.pid}: RLIMIT_NPROC 0`);
    }
    const net = procs.find((p) => p.pid === conns[0].pid)!;
    t.equal(net.comm, 'tlswrapper', 'the exec\'d process is the network process');
    t.ok(prog, 'prog runs');
    if (prog) {
      t.equal(prog.uid[0], 0, 'prog keeps root (no -u)');
      t.equal(prog.root, '/', 'prog not chrooted');
      t.equal(readLimits(prog.pid)['Max open files']?.soft !== 0, true, 'prog has open-file limit');
    }
    // The memory search reads the jailed process and finds nothing of the key.
    const m = searchMemory(net.pid, [...cert.secrets, cert.keyDer]);
    t.ok(m.bytesRead > 100000, `read ${m.bytesRead} bytes of the network process`);
    t.equal(m.hits.length, 0, 'no key bytes in the network process');
    // Positive control: the search does find bytes the process holds (the leaf
    // certificate, which the network process sends).
    const leafDer = Buffer.from(fs.readFileSync(cert.certFile, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const pos = searchMemory(net.pid, [leafDer.subarray(leafDer.length - 64)]);
    t.ok(pos.hits.length > 0, 'control: the leaf certificate is found in the network process');
  });

  t.test('procs: connections() under each super-server', async (t) => {
    for (const kind of SUPER_SERVERS) {
      if (superServerMissing(kind)) { t.pass(kind, { skip: superServerMissing(kind)! }); continue; }
      const s = await serve(t, kind, [DEBIAN, '-f', cert.pem, 'cat']);
      const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.2' });
      await c.send('p\n'); await c.readUntil('p\n');
      const conns = await waitFor(() => { const cs = connections(s.pid); return cs.length === 1 && cs[0].procs.length >= 3 ? cs : null; }, 5000);
      t.ok(conns, `${kind}: one connection, found as a child of the super-server`);
      t.equal(conns?.[0].procs[0].comm, 'tlswrapper', `${kind}: the child is the exec'd wrapper`);
      t.equal(connectionForClient(s.pid, s.port, c.socket.localPort ?? 0)?.pid, conns?.[0].pid, `${kind}: and by the client's port`);
      c.destroy();
      await s.stop();
      t.same(connections(s.pid), [], `${kind}: nothing left after stop()`);
    }
  });
}
