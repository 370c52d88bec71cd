// -e x448: X448 (RFC 7748) key exchange with a real client, TLS 1.3 and
// TLS 1.2, under tcpserver; our extension (Debian's tlswrapper knows only
// x25519 and the NIST curves). Without -e x448 a client that offers only
// X448 gets no handshake.
import t from 'tap';
import { leafCert } from '../lib/certs';
import { opensslClient } from '../lib/clients';
import { ours } from '../lib/ours';
import { serve, superServerMissing } from '../lib/superserver';

const cert = leafCert('p256');
const missing = superServerMissing('tcpserver');

if (missing) {
  t.plan(0, missing);
} else {
  t.test('openssl s_client -groups X448 against -e x448: the handshake uses X448, data flows', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-v', '-e', 'x25519', '-e', 'x448', '-f', cert.pem, 'cat']));
    // TLS 1.2: supported_groups also bounds an ECDSA certificate's curve (RFC
    // 8422 5.1), so that client names P-256 too; our order picks X448 first.
    for (const [tls, groups] of [['1.3', 'X448'], ['1.2', 'X448:P-256']] as const) {
      const r = await opensslClient({ port: s.port, caFile: cert.caCert, tls, groups, input: 'x448 works\n', until: 'x448 works\n' });
      t.equal(r.data, 'x448 works\n', `TLS ${tls}: echoed (${r.err.trim().split('\n').slice(-3).join(' / ')})`);
      t.match(r.group ?? '', /X448/, `TLS ${tls}: the client saw X448 (${r.group})`);
    }
    t.match(s.output(), /handshake done: TLSv1\.3 \S+ x448/, 'the server logged x448 for TLS 1.3');
    t.match(s.output(), /handshake done: TLSv1\.2 \S+ x448/, 'and for TLS 1.2');
  });

  t.test('without -e x448, a client offering only X448 is refused', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-f', cert.pem, 'cat']));
    const r = await opensslClient({ port: s.port, caFile: cert.caCert, tls: '1.3', groups: 'X448', input: 'no\n', until: 'no\n' });
    t.not(r.code, 0, `no handshake (exit ${r.code})`);
    t.equal(r.data, '', 'no data');
  });
}
