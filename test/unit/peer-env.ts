// What prog is told about a client certificate, and which user -U picks.
import t from 'tap';
import type { PeerIdentity } from '../../peercert';
import { userFromCertificate } from '../../src/peer';
import { PEER_VARIABLES } from '../../wire/facts';
import { progEnvironment } from '../../src/prog';
import type { HandshakeReport } from '../../wire/ctl';

const info: HandshakeReport = { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', group: 'x25519', serverName: null, socket: null, proxy: null, peerCertificates: null };
const hex = 'ab'.repeat(32);
const alice: PeerIdentity = { sha256: hex, subject: 'C=CZ, O=Example\\, Inc., CN=alice', commonNames: ['alice'], emailAddresses: ['alice@example.com'] };

t.test('with a verified client certificate', async (t) => {
  const env = progEnvironment({ SHA256: 'stale', SSL_PEER_CERT_CN: 'mallory' }, info, undefined, alice);
  t.equal(env.SSL_CLIENT_VERIFY, 'SUCCESS');
  t.equal(env.SSL_PEER_CERT_HASH, `SHA256:${hex}`);
  t.equal(env.SHA256, hex);
  t.equal(env.SSL_PEER_CERT_SUBJECT, alice.subject);
  t.equal(env.SSL_PEER_CERT_CN, 'alice', 'this certificate\'s, not the inherited one');
  const two = progEnvironment({}, info, undefined, { ...alice, commonNames: ['example.com', 'alice'] });
  t.equal(two.SSL_PEER_CERT_CN, 'alice', 'several CNs: the last, most specific');
  const none = progEnvironment({ SSL_PEER_CERT_CN: 'mallory' }, info, undefined, { ...alice, commonNames: [] });
  t.equal(none.SSL_PEER_CERT_CN, undefined, 'no CN: unset, never inherited');
});

t.test('without one: NONE, and nothing inherited', async (t) => {
  const inherited = Object.fromEntries(PEER_VARIABLES.map((n) => [n, 'forged']));
  const env = progEnvironment({ ...inherited, FOO: 'bar' }, info);
  t.equal(env.SSL_CLIENT_VERIFY, 'NONE');
  for (const name of PEER_VARIABLES.filter((n) => n !== 'SSL_CLIENT_VERIFY')) t.equal(env[name], undefined, `${name} removed`);
  t.equal(env.FOO, 'bar');
});

t.test('-U: the one attribute value, up to an @', async (t) => {
  t.equal(userFromCertificate(alice, 'commonName'), 'alice');
  t.equal(userFromCertificate(alice, 'emailAddress'), 'alice', 'tlswrapper keeps the part before the @');
  t.equal(userFromCertificate({ ...alice, commonNames: ['svc.backup-1'] }, 'commonName'), 'svc.backup-1');
  const refused: [string, PeerIdentity, 'commonName' | 'emailAddress', RegExp][] = [
    ['no CN', { ...alice, commonNames: [] }, 'commonName', /0 commonName values/],
    ['two CNs', { ...alice, commonNames: ['a', 'b'] }, 'commonName', /2 commonName values/],
    ['no email', { ...alice, emailAddresses: [] }, 'emailAddress', /0 emailAddress values/],
    ['a path', { ...alice, commonNames: ['../root'] }, 'commonName', /not a user name/],
    ['a space', { ...alice, commonNames: ['al ice'] }, 'commonName', /not a user name/],
    ['an option', { ...alice, commonNames: ['-x'] }, 'commonName', /not a user name/],
    ['empty local part', { ...alice, emailAddresses: ['@example.com'] }, 'emailAddress', /not a user name/],
    ['too long', { ...alice, commonNames: ['a'.repeat(33)] }, 'commonName', /not a user name/],
    ['non-ASCII', { ...alice, commonNames: ['alicé'] }, 'commonName', /not a user name/],
  ];
  for (const [name, id, attr, message] of refused) t.throws(() => userFromCertificate(id, attr), { message }, name);
});

t.test('a commonName with a control character still counts', async (t) => {
  const twoCns: PeerIdentity = { ...alice, commonNames: ['alice', null] };
  t.throws(() => userFromCertificate(twoCns, 'commonName'), { message: /2 commonName values/ }, 'alice plus an unusable CN: not exactly one');
  t.throws(() => userFromCertificate({ ...alice, commonNames: [null] }, 'commonName'), { message: /not a user name/ }, 'the one CN unusable');
  t.equal(progEnvironment({}, info, undefined, { ...alice, commonNames: ['alice', null] }).SSL_PEER_CERT_CN, undefined, 'the last CN unusable: unset, not the one before');
});
