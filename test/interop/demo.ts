// README's quick start: the demo listener answers curl over TLS 1.3.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { curlClient } from '../lib/clients';
import { NO_TAP_LOADER } from '../lib/ours';
import { killGroup, repoRoot } from '../lib/sh';
import { freePort } from '../lib/superserver';

t.test('examples/demo.mjs serves the hello page', async (t) => {
  const port = await freePort();
  const demo = spawn(NO_TAP_LOADER[0], [...NO_TAP_LOADER.slice(1), process.execPath, path.join(repoRoot, 'examples/demo.mjs'), String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // SIGTERM, as a user's Ctrl-C would: the demo removes its directory (SIGKILL would leave the key behind).
  t.teardown(async () => {
    killGroup(demo.pid!, 'SIGTERM');
    if (demo.exitCode === null) await once(demo, 'exit');
  });
  const banner = await new Promise<string>((resolve) => demo.stdout!.on('data', (d: Buffer) => resolve(d.toString())));
  const cert = /certificate (\S+)\)/.exec(banner)![1];
  const r = await curlClient({ port, servername: 'localhost', caFile: cert });
  t.equal(r.code, 0, 'curl verified the demo certificate and got an answer');
  t.match(r.data, /^hello from prog behind tlswrapper: TLSv1\.3 TLS_\S+ sni=localhost$/m);
});

t.test('examples/demo.mjs: SIGTERM or Ctrl-C removes its directory (the private key is in it)', async (t) => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const port = await freePort();
    const demo = spawn(NO_TAP_LOADER[0], [...NO_TAP_LOADER.slice(1), process.execPath, path.join(repoRoot, 'examples/demo.mjs'), String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let banner = '';
    await new Promise<void>((resolve) => demo.stdout!.on('data', (d: Buffer) => { banner += d.toString(); if (/Ctrl-C/.test(banner)) resolve(); }));
    const dir = path.dirname(/certificate (\S+)\)/.exec(banner)![1]);
    t.ok(fs.existsSync(dir), `${signal}: the demo's directory exists while it runs`);
    t.match(banner, /openssl s_client .* -CAfile \S+cert\.pem/, `${signal}: the s_client hint verifies the certificate`);
    demo.kill(signal);
    const [code] = (await once(demo, 'exit')) as [number | null];
    t.equal(code, 0, `${signal}: exits 0`);
    t.notOk(fs.existsSync(dir), `${signal}: ${dir} is gone`);
  }
});

t.test('examples/demo.mjs: a port in use is one line and exit 1, no stack trace, nothing left behind', async (t) => {
  const busy = net.createServer().listen(0, '127.0.0.1');
  await once(busy, 'listening');
  t.teardown(() => busy.close());
  const port = (busy.address() as net.AddressInfo).port;
  const before = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('tlswrapper-demo-'));
  const r = spawnSync(NO_TAP_LOADER[0], [...NO_TAP_LOADER.slice(1), process.execPath, path.join(repoRoot, 'examples/demo.mjs'), String(port)], { encoding: 'utf8', timeout: 30000 });
  t.equal(r.status, 1);
  t.equal(r.stderr, `demo: unable to listen on 127.0.0.1:${port}: the port is in use\n`);
  const after = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('tlswrapper-demo-'));
  t.same(after.filter((n) => !before.includes(n)), [], 'no tlswrapper-demo-* directory left');
});
