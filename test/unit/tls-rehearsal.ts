// The handshake a spare netproc rehearses before its client (tls/rehearsal.ts,
// netproc/warmup.ts): a whole TLS 1.3 handshake and an echoed byte against a
// fresh engine, for every suite and both kinds of group, with the throwaway
// certificate of lib/throwawaycert.ts; and keyproc's signing rehearsal.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { THROWAWAY_SCHEME, throwawayCert } from '../../lib/throwawaycert';
import { rehearseSigning } from '../../keyproc/warmup';
import { rehearseHandshake } from '../../netproc/warmup';
import { rehearseHandshake13 } from '../../tls/rehearsal';
import { signByScheme } from '../../tls/signature';
import { CONFIG12, CONFIG13 } from '../lib/engine-harness';

t.test('the throwaway certificate is a certificate for its key', async (t) => {
  const c = throwawayCert();
  const x = new X509Certificate(c.cert);
  t.equal(x.subject, 'CN=tlswrapper warm-up');
  t.ok(x.checkPrivateKey(c.key), 'its public key is the key\'s');
  t.ok(x.verify(x.publicKey), 'self-signed, and the signature verifies');
  t.same(new X509Certificate(c.certPem).raw, c.cert, 'the PEM is the DER');
  t.not(throwawayCert().cert.toString('hex'), c.cert.toString('hex'), 'a new key each time');
});

t.test('a whole handshake for each suite and group: keyproc\'s part asked for once each', async (t) => {
  const c = throwawayCert();
  for (const suite of CONFIG13.suites) {
    for (const group of [0x001d, 0x0017, 0x0018]) {
      const seen: string[] = [];
      rehearseHandshake13({ ...CONFIG13, suites: [suite], groups: [group] }, {
        get chain() { seen.push('chain'); return [c.cert]; },
        scheme: THROWAWAY_SCHEME,
        sign: (content) => { seen.push('sign'); return signByScheme(c.key, THROWAWAY_SCHEME, content); },
      });
      t.same(seen, ['chain', 'sign'], `suite 0x${suite.toString(16)}, group 0x${group.toString(16)}: certificate, then one signature`);
    }
  }
});

t.test('a failure reaches the caller: thrown by the rehearsal, returned by netproc\'s (which must not end netproc)', async (t) => {
  const c = throwawayCert();
  t.throws(() => rehearseHandshake13(CONFIG13, { chain: [c.cert], scheme: THROWAWAY_SCHEME, sign: () => { throw new Error('no key here'); } }), /no key here/);
  t.match(rehearseHandshake({ ...CONFIG13, suites: [0x13ff] }), /unknown suite/, 'netproc: the reason, as a string');
});

t.test('without TLS 1.3 there is nothing to rehearse', async (t) => {
  let asked = false;
  rehearseHandshake13({ ...CONFIG12, maxVersion: 0x0303 }, { get chain() { asked = true; return []; }, scheme: THROWAWAY_SCHEME, sign: () => new Uint8Array(0) });
  t.notOk(asked);
});

t.test('netproc\'s and keyproc\'s rehearsals run clean', async (t) => {
  t.equal(rehearseHandshake(CONFIG12), null, 'netproc: no error');
  t.doesNotThrow(() => rehearseSigning(), 'keyproc: parse, choose, sign, check');
});
