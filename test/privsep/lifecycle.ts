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

// Issue 12: a crash of our own process fails the connection whatever prog
// returns (cat exits 0 on EOF here), with one line saying so at the default level.
t.test('SIGKILL to netproc: prog sees EOF, the entry exits 111 with one fatal line', async (t) => {
  const { run, s, pids } = await liveConnection();
  const netproc = pids.find((p) => readStat(p) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('netproc.js'))!;
  t.ok(netproc, 'found netproc');
  process.kill(netproc, 'SIGKILL');
  const exit = await run.exit;
  t.equal(exit.code, 111, 'exit 111, though cat ended on EOF with 0');
  t.same(run.stderr().trim().split('\n'), ['tlswrapper: fatal: netproc was killed by signal SIGKILL'], 'one fatal line');
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

// Issue 12: keyproc dying mid-handshake is a failure of ours: the client gets
// internal_error, not a bare close, and the entry exits 111 saying why.
t.test('SIGKILL to keyproc before the name: the client gets internal_error, exit 111', async (t) => {
  const run = await runDirect(['-f', cert.pem, 'cat']);
  const keyproc = await waitFor(() => descendants(run.child.pid!).find((p) => readStat(p) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('keyproc.js')), 10000);
  t.ok(keyproc, 'found keyproc');
  process.kill(keyproc!, 'SIGKILL');
  await waitFor(() => readStat(keyproc!)?.state === 'Z' || readStat(keyproc!) === null, 5000);
  const err = await new Promise<Error & { code?: string }>((resolve) => {
    const c = tls.connect({ socket: run.client, rejectUnauthorized: false });
    c.once('error', resolve);
    c.once('secureConnect', () => resolve(Object.assign(new Error('handshake succeeded'), { code: 'none' })));
  });
  t.equal(err.code, 'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR', `the client got internal_error (${err.message})`);
  const exit = await run.exit;
  t.equal(exit.code, 111, 'exit 111');
  t.match(run.stderr(), /^tlswrapper: fatal: keyproc was killed by signal SIGKILL$/m, 'one fatal line says what happened');
});
