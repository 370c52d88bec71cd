// The private key must never be in netproc's or the entry's memory. These
// search a process's memory for the key's bytes (raw secrets, PKCS#8 DER,
// a run of the PEM's base64), and prove with a positive control that the
// search finds them where they are.
import { spawn } from 'node:child_process';
import type { Test } from 'tap';
import { leafCert, type LeafCert } from './certs';
import { searchMemory } from './procs';

export function keyNeedles(cert: LeafCert): Buffer[] {
  const base64 = cert.keyPem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  return [...cert.secrets, cert.keyDer, Buffer.from(base64.slice(8, 72))];
}

/** Each named process: more than 1 MiB searched, no key bytes found. */
export function assertNoKeyInMemory(t: Test, cert: LeafCert, procs: readonly (readonly [string, { pid: number }])[]): void {
  const needles = keyNeedles(cert);
  for (const [who, p] of procs) {
    const found = searchMemory(p.pid, needles);
    t.ok(found.bytesRead > 1 << 20, `${who}: searched ${found.bytesRead} bytes of memory`);
    t.same(found.hits, [], `${who}: no private key bytes in memory`);
  }
}

/** The positive control: the needles are found in a Node process that loaded the key. */
export async function keyFoundWhereItIs(t: Test): Promise<void> {
  const cert = leafCert('p256');
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, '-e',
    `const k = require('crypto').createPrivateKey(require('fs').readFileSync(${JSON.stringify(cert.pem)})); console.log('ready'); setTimeout(() => k, 30000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((r) => child.stdout!.once('data', r));
  t.ok(searchMemory(child.pid!, keyNeedles(cert)).hits.length > 0, 'found');
}
