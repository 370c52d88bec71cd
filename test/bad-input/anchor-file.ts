// A bad -a file: one fatal line naming the file and what is wrong, exit 111,
// no prog, no stack trace; whether the PEM is broken (found before any process
// starts) or a certificate in it does not parse (found while they start).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { leafCert } from '../lib/certs';
import { hasStackTrace, runDirect } from '../lib/direct';

t.setTimeout(60000);
const cert = leafCert('p256', ['localhost']);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anchors-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};
const marker = path.join(dir, 'prog-ran');

const cases: [string, string, RegExp][] = [
  ['missing file', path.join(dir, 'nope.pem'), /unable to read anchor PEM file '.*nope\.pem': file does not exist$/],
  ['no certificate', file('key.pem', fs.readFileSync(cert.keyFile, 'latin1')), /'.*key\.pem': no certificate in anchor file$/],
  ['broken base64', file('b64.pem', '-----BEGIN CERTIFICATE-----\nM$$$\n-----END CERTIFICATE-----\n'), /'.*b64\.pem': 'CERTIFICATE' is not valid base64$/],
  ['no END line', file('end.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n'), /'.*end\.pem': no END line for 'CERTIFICATE'$/],
  ['a certificate that does not parse', file('junk.pem', `${fs.readFileSync(cert.caCert, 'latin1')}-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n`), /'.*junk\.pem': certificate 2 in anchor file does not parse/],
];

for (const [name, anchorFile, message] of cases) {
  t.test(name, async (t) => {
    const run = await runDirect(['-a', anchorFile, '-f', cert.pem, 'sh', '-c', `touch ${marker}`], { deadlineMs: 20000 });
    run.client.end();
    const { code } = await run.exit;
    const lines = run.stderr().trim().split('\n');
    t.equal(code, 111, run.stderr());
    const fatal = lines.filter((l) => l.startsWith('tlswrapper: fatal:'));
    t.equal(fatal.length, 1, 'one fatal line from the entry');
    t.match(fatal[0], message, 'naming the file and the reason');
    t.notOk(hasStackTrace(run.stderr()), 'no stack trace');
    t.notOk(fs.existsSync(marker), 'prog never ran');
  });
}
