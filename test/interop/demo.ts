// README's quick start: the demo listener answers curl over TLS 1.3.
import { spawn } from 'node:child_process';
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
  t.teardown(() => killGroup(demo.pid!));
  const banner = await new Promise<string>((resolve) => demo.stdout!.on('data', (d: Buffer) => resolve(d.toString())));
  const cert = /certificate (\S+)\)/.exec(banner)![1];
  const r = await curlClient({ port, servername: 'localhost', caFile: cert });
  t.equal(r.code, 0, 'curl verified the demo certificate and got an answer');
  t.match(r.data, /^hello from prog behind tlswrapper: TLSv1\.3 TLS_\S+ sni=localhost$/m);
});
