// Client certificates (-a) as the entry sees them: it reads the anchors before
// anything starts, hands them to netproc, and when netproc reports a finished
// handshake it judges the client's chain once more itself (netproc is the
// process that faces the network; its word alone does not name a user), then
// tells prog who the client is.
import { systemErrorText } from '../lib/errno';
import { readFileSync } from 'node:fs';
import type { Anchors, PeerIdentity } from '../peercert';
import { errText } from '../lib/log';
import { pemBlocks, type PemBlock } from '../lib/pem';
import { loadPeercert, type Peercert } from '../peercert/load';
import type { UserAttribute } from './options';

/**
 * The -a file's certificates as DER, read before anything starts; a one-line
 * Error says what is wrong with it. Only the PEM is checked here: the full
 * parse (peercert, ~60 ms with its loading) runs while netproc and keyproc
 * start (ClientAuthState), not before them.
 */
export function readAnchorFile(file: string): Uint8Array[] {
  const fail = (why: string): never => {
    throw new Error(`unable to read anchor PEM file '${file}': ${why}`);
  };
  let text = '';
  try {
    text = readFileSync(file, 'latin1');
  } catch (e) {
    fail(systemErrorText(e));
  }
  let blocks: PemBlock[] = [];
  try {
    blocks = pemBlocks(text);
  } catch (e) {
    fail(errText(e));
  }
  const ders = blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => new Uint8Array(b.der));
  if (ders.length === 0) fail('no certificate in anchor file');
  return ders;
}

/** -a in the entry: the anchors' DER at once, peercert and the parsed anchors when first needed. */
export class ClientAuthState {
  private judge: { peercert: Peercert; anchors: Anchors } | null = null;

  constructor(
    readonly file: string,
    readonly ders: Uint8Array[],
  ) {}

  /** Load peercert and parse the anchors (once); throws with a one-line reason. */
  load(): { peercert: Peercert; anchors: Anchors } {
    if (this.judge) return this.judge;
    const peercert = loadPeercert();
    try {
      this.judge = { peercert, anchors: peercert.anchorsFromDer(this.ders) };
    } catch (e) {
      throw new Error(`unable to read anchor PEM file '${this.file}': ${errText(e)}`);
    }
    return this.judge;
  }
}

/**
 * The entry's own check of the chain netproc reports: it must verify against
 * our anchors now. Returns the leaf's identity; throws with the reason.
 */
export function checkReportedChain(auth: ClientAuthState, chain: Uint8Array[] | null): PeerIdentity {
  if (!chain) throw new Error('netproc reported no client certificate');
  const { peercert, anchors } = auth.load();
  const verdict = peercert.verifyChain(chain, anchors);
  if (!verdict.ok) throw new Error(`netproc reported a client certificate that does not verify: ${verdict.reason}`);
  return peercert.peerIdentity(chain[0]);
}

/** Login names -U may produce: what useradd accepts by default, at most 32 bytes. */
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;

/**
 * -U: the user named by the certificate's one commonName or emailAddress;
 * like tlswrapper, only the part before an '@' counts (alice@example.com is
 * alice). Several values, none, or a name no system would create: refused.
 */
export function userFromCertificate(identity: PeerIdentity, attribute: UserAttribute): string {
  const values = attribute === 'commonName' ? identity.commonNames : identity.emailAddresses;
  if (values.length !== 1) {
    throw new Error(`unable to extract the user from the client certificate: ${values.length} ${attribute} values in '${identity.subject}'`);
  }
  const name = (values[0] ?? '').split('@')[0];
  if (!USER_NAME.test(name)) throw new Error(`unable to extract the user from the client certificate: '${JSON.stringify(name).slice(1, -1)}' is not a user name`);
  return name;
}
