// The algorithms tlswrapper has only on request: the CBC suites (TLS 1.2) and
// TLS 1.0/1.1 (SHA-1 CBC suites), as its man page example enables them:
//   tlswrapper -m tls10 -M tls12 -c ... -c AES_128_CBC_SHA ...
// Against Debian's tlswrapper (the reference) and ours, with openssl s_client
// (@SECLEVEL=0: OpenSSL 3 refuses TLS 1.0/1.1 and SHA-1 otherwise) and Node.
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { leafCert, type LeafCert } from '../lib/certs';
import { curlClient, gnutlsClient, nodeTlsConnect, opensslClient, progs } from '../lib/clients';
import { ours } from '../lib/ours';
import { describe } from '../lib/sh';
import { serve } from '../lib/superserver';

const DEBIAN = '/usr/bin/tlswrapper';
// Debian's (BearSSL) completes TLS 1.0 handshakes here but then delivers no
// data to openssl or Node: it is our reference for TLS 1.1 and 1.2 only.
const WRAPPERS = [
  { name: "Debian's", argv: (args: string[]) => [DEBIAN, ...args], missing: fs.existsSync(DEBIAN) ? false : `${DEBIAN} not installed`, tls10: false },
  { name: 'ours', argv: ours, missing: false as const, tls10: true },
];
const ALL_CIPHERS = ['CHACHA20_POLY1305_SHA256', 'AES_256_GCM_SHA384', 'AES_128_GCM_SHA256',
  'AES_256_CBC_SHA384', 'AES_128_CBC_SHA256', 'AES_256_CBC_SHA', 'AES_128_CBC_SHA'];
const legacyArgs = (pem: string) => ['-v', '-m', 'tls10', '-M', 'tls12', ...ALL_CIPHERS.flatMap((c) => ['-c', c]), '-f', pem, 'cat'];

/** OpenSSL's name for each CBC suite, by key type. */
const CBC12: Record<'ec' | 'rsa', string[]> = {
  ec: ['ECDHE-ECDSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA'],
  rsa: ['ECDHE-RSA-AES256-SHA384', 'ECDHE-RSA-AES128-SHA256', 'ECDHE-RSA-AES256-SHA', 'ECDHE-RSA-AES128-SHA'],
};
const SHA1_CBC: Record<'ec' | 'rsa', string[]> = {
  ec: ['ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA'],
  rsa: ['ECDHE-RSA-AES256-SHA', 'ECDHE-RSA-AES128-SHA'],
};
/** The same CBC suites as gnutls-cli (cipher, MAC) and curl (OpenSSL names) ask for them. */
const GNUTLS_CBC: Record<string, [string, string]> = {
  'AES256-SHA384': ['AES-256-CBC', 'SHA384'],
  'AES128-SHA256': ['AES-128-CBC', 'SHA256'],
  'AES256-SHA': ['AES-256-CBC', 'SHA1'],
  'AES128-SHA': ['AES-128-CBC', 'SHA1'],
};

const VERSIONS = [['-tls1', 'TLSv1'], ['-tls1_1', 'TLSv1.1']] as const;

async function roundTrip(t: Test, port: number, cert: LeafCert, versionFlag: string, protocol: string, cipher: string): Promise<void> {
  const data = `${protocol} ${cipher}\n`;
  const r = await opensslClient({ port, caFile: cert.caCert, cipher: `${cipher}:@SECLEVEL=0`, extra: [versionFlag], input: data, until: data });
  t.equal(r.protocol, protocol, `${protocol} ${cipher}: protocol (${describe(r).slice(0, 300)})`);
  t.equal(r.cipher, cipher, `${protocol} ${cipher}: cipher`);
  t.equal(r.data, data, `${protocol} ${cipher}: data round-trips`);
}

for (const w of WRAPPERS) {
  t.test(`${w.name}: CBC suites in TLS 1.2, SHA-1 CBC in TLS 1.0 and 1.1`, { skip: w.missing }, async (t) => {
    for (const [keyType, cls] of [['p256', 'ec'], ['rsa2048', 'rsa']] as const) {
      const cert = leafCert(keyType);
      const s = await serve(t, 'tcpserver', w.argv(legacyArgs(cert.pem)));
      for (const cipher of CBC12[cls]) await roundTrip(t, s.port, cert, '-tls1_2', 'TLSv1.2', cipher);
      // gnutls-cli and curl, each CBC suite in TLS 1.2.
      const http = await serve(t, 'tcpserver', w.argv(legacyArgs(cert.pem).slice(0, -1).concat(progs.http)));
      for (const cipher of CBC12[cls]) {
        const [gc, gm] = GNUTLS_CBC[cipher.replace(/^ECDHE-(ECDSA|RSA)-/, '')];
        const kx = cls === 'ec' ? 'ECDHE-ECDSA' : 'ECDHE-RSA';
        const g = await gnutlsClient({ port: s.port, caFile: cert.caCert, input: 'g\n', until: 'g\n',
          priority: `NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+${kx}:-CIPHER-ALL:+${gc}:-MAC-ALL:+${gm}` });
        t.same([g.protocol, g.cipher, g.data], ['TLSv1.2', gc, 'g\n'], `gnutls-cli ${cipher}`);
        const c = await curlClient({ port: http.port, caFile: cert.caCert, tls: '1.2', ciphers: cipher, urlPath: '/cbc' });
        t.equal(c.code, 0, `curl ${cipher}: ${describe(c).slice(0, 300)}`);
        t.match(c.data, /GET \/cbc HTTP/, `curl ${cipher}: the page came through`);
        t.equal(c.cipher, cipher, `curl ${cipher}: cipher`);
      }
      for (const [flag, protocol] of VERSIONS) {
        if (protocol === 'TLSv1' && !w.tls10) continue;
        for (const cipher of SHA1_CBC[cls]) await roundTrip(t, s.port, cert, flag, protocol, cipher);
      }
      if (!w.tls10) continue;
      // Node's client at TLS 1.0 (its default floor is 1.2: lowered for this).
      const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
      t.equal(c.protocol, 'TLSv1', 'node: TLS 1.0');
      await c.send('node\n');
      t.equal((await c.readUntil('node\n')).toString(), 'node\n', 'node: data round-trips');
      c.destroy();
    }
  });

  t.test(`${w.name}: by default no TLS 1.0/1.1 and no CBC suite`, { skip: w.missing }, async (t) => {
    const cert = leafCert('p256');
    const s = await serve(t, 'tcpserver', w.argv(['-f', cert.pem, 'cat']));
    for (const [flag, cipher] of [['-tls1', 'ECDHE-ECDSA-AES128-SHA'], ['-tls1_1', 'ECDHE-ECDSA-AES128-SHA'], ['-tls1_2', 'ECDHE-ECDSA-AES128-SHA256']]) {
      const r = await opensslClient({ port: s.port, caFile: cert.caCert, cipher: `${cipher}:@SECLEVEL=0`, extra: [flag], input: 'x', until: 'x', timeoutMs: 8000 });
      t.not(r.data, 'x', `${flag} ${cipher}: refused`);
      t.match(r.err, /alert|errno|error/i, `${flag} ${cipher}: the client reports the failure`);
    }
  });
}
