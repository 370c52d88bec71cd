// tlswrapper-alias behind the real tlswrapper -a under tcpserver, with Node
// tls and openssl s_client as clients:
//   tlswrapper -a anchor -f server.pem tlswrapper-alias -f file sh -c 'echo "hello $ALIAS"'
// A known certificate gets its alias, an unknown one is refused (no prog, the
// fatal line on stderr); with -a an unknown client registers over the line
// protocol (alias? / <alias> / ok <alias>), the bytes it sent after its alias
// line reach prog, a taken alias is refused, and concurrent registrations all
// land in a well-formed file (the same alias from several clients at once: one wins).
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAliasFile } from '../../alias/parse';
import { leafCert } from '../lib/certs';
import { clientAnchorFile, clientCert, type ClientCert } from '../lib/clientcerts';
import { nodeTlsConnect, opensslClient, type NodeTlsClient } from '../lib/clients';
import { hasStackTrace } from '../lib/direct';
import { NO_TAP_LOADER, ours } from '../lib/ours';
import { describe, repoRoot, waitFor } from '../lib/sh';
import { serve, superServerMissing, type SuperServer } from '../lib/superserver';

t.setTimeout(60000);
const skip = superServerMissing('tcpserver') ?? false;
const server = leafCert('p256', ['localhost']);
const anchor = clientAnchorFile('ecdsa');
const ALIAS_BIN = path.join(repoRoot, 'bin', 'tlswrapper-alias');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-alias-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const cert = (cn: string) => clientCert({ subject: `/CN=${cn}` });
/** SHA-256 of the leaf's DER, read from its PEM file here (not the helper's value). */
function sha(c: ClientCert): string {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(fs.readFileSync(c.certFile, 'utf8'));
  return createHash('sha256').update(Buffer.from(m![1].replace(/\s+/g, ''), 'base64')).digest('hex');
}
const pem = (f: string) => fs.readFileSync(f, 'utf8');
const connect = (s: SuperServer, c: ClientCert) =>
  nodeTlsConnect({ port: s.port, caFile: server.caCert, tls: '1.3', cert: pem(c.certFile), key: pem(c.keyFile) });

function serveAlias(t: Test, file: string, opts: string[], prog: string): Promise<SuperServer> {
  return serve(t, 'tcpserver', ours(['-a', anchor, '-f', server.pem, ...NO_TAP_LOADER, ALIAS_BIN, ...opts, '-f', file, 'sh', '-c', prog]));
}

async function stderrLine(t: Test, s: SuperServer, line: string, what: string): Promise<void> {
  await waitFor(() => s.output().includes(line), 5000);
  t.ok(s.output().includes(line), `${what}: ${JSON.stringify(line.trim())} in stderr: ${JSON.stringify(s.output().slice(-600))}`);
}

function table(file: string) {
  const r = parseAliasFile(fs.readFileSync(file, 'latin1'));
  if (!r.ok) throw new Error(`${file} is not well-formed: ${r.error}`);
  return r.table;
}

t.test('known and unknown certificates', { skip }, async (t) => {
  const alice = cert('alias-alice'); const mallory = cert('alias-mallory');
  const file = path.join(tmp, 'known');
  fs.writeFileSync(file, `# test aliases\n\n${sha(alice)} alice\n`);
  const s = await serveAlias(t, file, [], 'echo "hello $ALIAS"');

  const n = await connect(s, alice);
  t.equal((await n.readToClose()).toString(), 'hello alice\n', 'Node tls, known certificate: hello alice');

  const o = await opensslClient({ port: s.port, caFile: server.caCert, tls: '1.2', certFile: alice.certFile, keyFile: alice.keyFile });
  t.equal(o.data, 'hello alice\n', `openssl s_client TLS 1.2, known certificate: ${describe(o)}`);

  const u = await connect(s, mallory);
  t.equal((await u.readToClose()).toString(), '', 'unknown certificate: no hello, nothing at all');
  await stderrLine(t, s, `tlswrapper-alias: fatal: unknown client certificate SHA256:${sha(mallory)}\n`, 'unknown certificate');
  t.equal(fs.readFileSync(file, 'utf8'), `# test aliases\n\n${sha(alice)} alice\n`, 'without -a the file is not touched');
  t.notOk(hasStackTrace(s.output()), 'no stack trace');
});

t.test('-a: registration over the line protocol', { skip }, async (t) => {
  const bob = cert('alias-bob'); const eve = cert('alias-eve'); const alice = cert('alias-alice');
  const file = path.join(tmp, 'register');
  fs.writeFileSync(file, `# registered by tlswrapper-alias -a\n${sha(alice)} alice\n`);
  // prog also reads one line: what the client sent after its alias line.
  const s = await serveAlias(t, file, ['-a'], 'echo "hello $ALIAS"; read -r x; echo "got $x"');

  const r = await connect(s, bob);
  await r.readUntil('alias?\n');
  await r.send('bob\nthe line after\n');
  t.equal((await r.readToClose()).toString(), 'alias?\nok bob\nhello bob\ngot the line after\n',
    'prompt, confirmation, prog with ALIAS=bob, and the bytes after the alias line reached prog');
  t.equal(fs.readFileSync(file, 'utf8'), `# registered by tlswrapper-alias -a\n${sha(alice)} alice\n${sha(bob)} bob\n`,
    'the file has the line with the certificate\'s SHA-256, appended');

  const again = await connect(s, bob);
  await again.send('hi\n');
  t.equal((await again.readToClose()).toString(), 'hello bob\ngot hi\n', 'bob again: known now, no prompt');

  const taken = await connect(s, eve);
  await taken.readUntil('alias?\n');
  await taken.send('bob\nsecret\n');
  t.equal((await taken.readToClose()).toString(), 'alias?\nerror alias taken\n', 'the same alias from another certificate: refused, no prog');
  await stderrLine(t, s, `tlswrapper-alias: fatal: registration of SHA256:${sha(eve)} refused: alias bob is taken\n`, 'taken');

  const bad = await connect(s, eve);
  await bad.readUntil('alias?\n');
  await bad.send('Eve Smith\n');
  t.equal((await bad.readToClose()).toString(), 'alias?\nerror invalid alias\n', 'an alias outside the charset: refused');

  const tb = table(file);
  t.equal(tb.byHash.size, 2, 'still two entries');
  t.notOk(tb.byHash.has(sha(eve)), 'eve is not registered');
  t.notOk(hasStackTrace(s.output()), 'no stack trace');
});

t.test('-a: concurrent registrations', { skip }, async (t) => {
  const file = path.join(tmp, 'concurrent');
  const s = await serveAlias(t, file, ['-a'], 'echo "hello $ALIAS"');
  /** Connect all, wait for every prompt, then send every alias line at once. */
  async function race(entries: [ClientCert, string][]): Promise<string[]> {
    const clients: NodeTlsClient[] = await Promise.all(entries.map(([c]) => connect(s, c)));
    await Promise.all(clients.map((n) => n.readUntil('alias?\n')));
    await Promise.all(clients.map((n, i) => n.send(`${entries[i][1]}\n`)));
    return Promise.all(clients.map(async (n) => (await n.readToClose()).toString()));
  }

  const different = ['carol', 'dave', 'erin', 'frank'].map((a): [ClientCert, string] => [cert(`alias-${a}`), a]);
  const out = await race(different);
  t.same(out, different.map(([, a]) => `alias?\nok ${a}\nhello ${a}\n`), 'four different aliases at once: each gets its hello');
  const tb = table(file);
  t.same([...tb.byHash].sort(), different.map(([c, a]) => [sha(c), a]).sort(), 'all four lines landed, file well-formed');
  t.match(fs.readFileSync(file, 'utf8'), /^([0-9a-f]{64} [a-z]+\n){4}$/, 'exactly four whole lines');
  t.notOk(fs.existsSync(`${file}.lock`), 'no lock file left');

  // The alias is free when each looks; only the re-read under the lock tells them apart.
  const same = ['alias-gina', 'alias-hank', 'alias-ivan', 'alias-judy'].map((cn): [ClientCert, string] => [cert(cn), 'shared']);
  const out2 = await race(same);
  const won = out2.filter((o) => o === 'alias?\nok shared\nhello shared\n').length;
  const lost = out2.filter((o) => o === 'alias?\nerror alias taken\n').length;
  t.same([won, lost], [1, 3], `the same alias from four clients at once: one wins, three are refused (${JSON.stringify(out2)})`);
  const tb2 = table(file);
  t.equal(tb2.byHash.size, 5, 'one more line');
  t.ok(same.some(([c]) => tb2.byHash.get(sha(c)) === 'shared'), 'the winner\'s hash is the one in the file');
  t.notOk(hasStackTrace(s.output()), 'no stack trace');
});
