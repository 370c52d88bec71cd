// No orphans: whichever process of a connection dies, the others follow, and
// a signal to the entry ends the whole connection.
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import t from 'tap';
import { leafCert } from '../lib/certs';
import { runDirect, type DirectRun } from '../lib/direct';
import { descendants, readStat } from '../lib/procs';
import { waitFor } from '../lib/sh';

const cert = leafCert('p256');

async function liveConnection(): Promise<{ run: DirectRun; s: tls.TLSSocket; pids: number[] }> {
  const run = await runDirect(['-f', cert.pem, 'cat']);
  const s = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const c = tls.connect({ socket: run.client, rejectUnauthorized: false });
    c.once('secureConnect', () => resolve(c));
    c.once('error', reject);
  });
  s.on('error', () => {});
  s.write('x');
  await new Promise((r) => s.once('data', r));
  const pids = descendants(run.child.pid!);
  return { run, s, pids };
}

const alive = (pids: number[]) => pids.filter((p) => {
  const st = readStat(p);
  return st !== null && st.state !== 'Z';
});

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  t.test(`${signal} to the entry: netproc and prog go too`, async (t) => {
    const { run, s, pids } = await liveConnection();
    t.ok(pids.length >= 2, `netproc and prog running: ${pids.join(' ')}`);
    process.kill(run.child.pid!, signal);
    const left = await waitFor(() => (alive(pids).length === 0 ? [] : undefined), 5000);
    t.same(left ?? alive(pids), [], 'every process of the connection is gone');
    const exit = await run.exit;
    if (signal === 'SIGTERM') t.equal(exit.code, 111, 'SIGTERM: the entry exits 111 after its children');
    s.destroy();
  });
}

t.test('SIGKILL to netproc: prog sees EOF, the entry exits with prog\'s status', async (t) => {
  const { run, s, pids } = await liveConnection();
  const netproc = pids.find((p) => readStat(p) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('netproc.js'))!;
  t.ok(netproc, 'found netproc');
  process.kill(netproc, 'SIGKILL');
  const exit = await run.exit;
  t.equal(exit.code, 0, 'cat ended on EOF with 0');
  t.same(alive(pids), [], 'nothing left');
  s.destroy();
});

t.test('the client vanishes mid-connection: everything ends', async (t) => {
  const { run, s, pids } = await liveConnection();
  s.destroy();
  run.client.destroy();
  const exit = await run.exit;
  t.equal(exit.code, 0, 'cat ended on EOF with 0');
  t.same(alive(pids), [], 'nothing left');
});
