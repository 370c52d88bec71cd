// A spare keyproc (tlswrapper-server) waits for its host name with time to
// spare: it goes once through what it will do for the client (parse a PEM
// file, choose the chain and scheme, build the content, sign and check the
// signature) with a throwaway key and certificate (lib/throwawaycert.ts),
// so that code is compiled before a client waits for it. Nothing of the
// real configuration is touched.
import { createPublicKey } from 'node:crypto';
import { THROWAWAY_SCHEME, throwawayCert } from '../lib/throwawaycert';
import { parseKeyAndChain } from '../lib/pem';
import { signByScheme, verifyByScheme } from '../tls/signature';
import { ProtocolVersion } from '../tls/tables';
import { certificateVerifyContent13, serverKeyExchangeContent12 } from './content';
import { selectChain } from './select';

const X25519 = 0x001d;

/** Throws if the rehearsal fails (the caller logs it and goes on: it only saves time). */
export function rehearseSigning(): void {
  const t = throwawayCert();
  const pem = Buffer.from(`${t.key.export({ type: 'pkcs8', format: 'pem' })}${t.certPem}`, 'latin1');
  const { key, chain } = parseKeyAndChain(pem);
  pem.fill(0);
  const contents = [
    [ProtocolVersion.tls13, certificateVerifyContent13(new Uint8Array(32))],
    [ProtocolVersion.tls12, serverKeyExchangeContent12({ clientRandom: new Uint8Array(32), serverRandom: new Uint8Array(32), group: X25519, publicKey: new Uint8Array(32) })],
  ] as const;
  for (const [version, content] of contents) {
    const chosen = selectChain([{ path: 'warm-up', key, chain }], version, [THROWAWAY_SCHEME], ['ec']);
    if (!chosen) throw new Error(`no scheme for the throwaway key at version 0x${version.toString(16)}`);
    const signature = signByScheme(key, chosen.scheme, content);
    if (!verifyByScheme(createPublicKey(key), chosen.scheme, content, signature)) throw new Error('the throwaway signature does not verify');
  }
}
