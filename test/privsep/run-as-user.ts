// -U commonName|emailAddress and -u: prog runs as a real system user made for
// this test (useradd, with a supplementary group from groupadd), with that
// user's uid, gid, supplementary groups (initgroups) and passwd HOME, USER,
// LOGNAME, SHELL. Root (by certificate or by -u) and unknown users are
// refused: no prog, exit 111, a log line saying why.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { leafCert } from '../lib/certs';
import { clientCert, combinedAnchorFile } from '../lib/clientcerts';
import { hasStackTrace, runDirect } from '../lib/direct';
import { nodeTlsConnect } from '../lib/clients';
import { ours } from '../lib/ours';
import { runSync, waitFor } from '../lib/sh';
import { serve } from '../lib/superserver';

t.setTimeout(90000);
const server = leafCert('p256', ['localhost']);
const anchors = combinedAnchorFile();
const pem = (f: string) => fs.readFileSync(f, 'utf8');

const tag = randomBytes(3).toString('hex');
const user = `tlswu${tag}`;
const group = `tlswg${tag}`;
const home = `/nonexistent-${user}`;
runSync(['groupadd', group]);
try {
  runSync(['useradd', '-M', '-d', home, '-s', '/bin/sh', '-G', group, user]);
} catch (e) {
  runSync(['groupdel', group]);
  throw e;
}
t.teardown(() => {
  runSync(['userdel', user]);
  runSync(['groupdel', group]);
});
/** The passwd and group databases' word on the test user, read here. */
const pw = runSync(['getent', 'passwd', user]).trim().split(':');
const uid = Number(pw[2]);
const gid = Number(pw[3]);
const sgid = Number(runSync(['getent', 'group', group]).trim().split(':')[2]);

const SHOW = ['sh', '-c', 'id -u; id -G; echo "$HOME $USER $LOGNAME $SHELL"'];

interface Outcome { out: string; code: number | null; stderr: string }
/** tlswrapper on a direct TCP connection, Node tls with this client certificate (or none) over it. */
async function connect(args: string[], client: { certFile: string; keyFile: string } | null): Promise<Outcome> {
  const run = await runDirect(args, { deadlineMs: 20000 });
  const s = tls.connect({ socket: run.client, ca: pem(server.caCert), servername: 'localhost',
    cert: client ? pem(client.certFile) : undefined, key: client ? pem(client.keyFile) : undefined });
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.on('error', () => { /* the outcome is in the exit status and stderr */ });
  await new Promise<void>((resolve) => s.on('close', () => resolve()));
  const exit = await run.exit;
  return { out: Buffer.concat(chunks).toString(), code: exit.code, stderr: run.stderr() };
}

function asUser(t: Test, r: Outcome, what: string): void {
  t.equal(r.code, 0, `${what}: exit 0 (${r.stderr.trim()})`);
  const [u, groups, names] = r.out.trim().split('\n');
  t.equal(Number(u), uid, `${what}: uid of ${user}`);
  t.same(groups.split(' ').map(Number).sort((a, b) => a - b), [gid, sgid].sort((a, b) => a - b), `${what}: primary gid and the supplementary group ${group}`);
  t.equal(names, `${home} ${user} ${user} /bin/sh`, `${what}: HOME USER LOGNAME SHELL from passwd`);
}

function refused(t: Test, r: Outcome, what: string, log: RegExp): void {
  t.equal(r.out, '', `${what}: no prog output`);
  t.equal(r.code, 111, `${what}: exit 111`);
  t.match(r.stderr, log, `${what}: the log line says why: ${r.stderr.trim()}`);
  t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
  t.notOk(hasStackTrace(r.stderr), `${what}: no stack trace`);
}

const byCN = clientCert({ ca: 'ecdsa', subject: `/O=Example/CN=${user}` });
const byEmail = clientCert({ ca: 'rsa', keyType: 'rsa2048', subject: `/O=Example/CN=Some One/emailAddress=${user}@example.com` });
const rootCN = clientCert({ ca: 'ecdsa', subject: '/O=Example/CN=root' });
const unknownCN = clientCert({ ca: 'ecdsa', subject: `/O=Example/CN=tlswnouser${tag}` });

t.test('-U commonName: prog runs as the certificate\'s user', async (t) => {
  asUser(t, await connect(['-a', anchors, '-U', 'commonName', '-f', server.pem, ...SHOW], byCN), '-U commonName');
});

t.test('-U emailAddress: the part before the @', async (t) => {
  asUser(t, await connect(['-a', anchors, '-U', 'emailAddress', '-f', server.pem, ...SHOW], byEmail), '-U emailAddress');
});

t.test('-U commonName with CN=root: refused', async (t) => {
  refused(t, await connect(['-a', anchors, '-U', 'commonName', '-f', server.pem, ...SHOW], rootCN), 'CN=root', /privileged account 'root'/);
});

t.test('-U commonName with an unknown user: refused', async (t) => {
  refused(t, await connect(['-a', anchors, '-U', 'commonName', '-f', server.pem, ...SHOW], unknownCN), 'unknown user', new RegExp(`tlswnouser${tag}`));
});

t.test('-u user: supplementary groups too', async (t) => {
  asUser(t, await connect(['-u', user, '-f', server.pem, ...SHOW], null), '-u');
});

t.test('-u root: refused', async (t) => {
  refused(t, await connect(['-u', 'root', '-f', server.pem, ...SHOW], null), '-u root', /privileged account 'root'/);
});

// The same through tlswrapper-server: one server, a connection per certificate.
t.test('through tlswrapper-server: -U picks the user per connection; root refused, the server goes on', async (t) => {
  const s = await serve(t, 'tlswrapper-server', ours(['-v', '-a', anchors, '-U', 'commonName', '-f', server.pem, ...SHOW]));
  const viaServer = async (client: { certFile: string; keyFile: string }): Promise<string> => {
    const n = await nodeTlsConnect({ port: s.port, ca: pem(server.caCert), servername: 'localhost', tls: '1.3', cert: pem(client.certFile), key: pem(client.keyFile) });
    return (await n.readToClose()).toString();
  };
  const out = await viaServer(byCN);
  asUser(t, { out, code: 0, stderr: '' }, '-U commonName through tlswrapper-server');
  t.equal(await viaServer(rootCN), '', 'CN=root: no prog output');
  await waitFor(() => /privileged account 'root'/.test(s.output()), 10000);
  t.match(s.output(), /^tlswrapper-server: #2: fatal: refusing privileged account 'root'/m, 'the log line says why, for that connection');
  asUser(t, { out: await viaServer(byCN), code: 0, stderr: '' }, 'the next connection still runs as its user');
  t.notOk(hasStackTrace(s.output()), 'no stack trace');
});
