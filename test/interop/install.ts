// README's install step, as a user runs it: `npm pack`, then `npm install -g
// --prefix PREFIX` of the tarball (README says /usr/local; here a temporary
// prefix). The installed programs run, man finds our pages, and the installed
// tlswrapper serves a real client under tcpserver.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { leafCert } from '../lib/certs';
import { opensslClient } from '../lib/clients';
import { NO_TAP_LOADER } from '../lib/ours';
import { repoRoot } from '../lib/sh';
import { serve, superServerMissing } from '../lib/superserver';

t.setTimeout(600000);
const PROGRAMS = ['tlswrapper', 'tlswrapper-tcp', 'tlswrapper-alias', 'tlswrapper-smtp', 'tlswrapper-server'];

/** A command's output; throws with its stderr when it fails. */
function sh(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 400000, ...opts });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

t.test('npm pack, then npm install -g --prefix: the programs, the man pages, a working tlswrapper', async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-install-'));
  fs.chmodSync(work, 0o755);
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const prefix = path.join(work, 'prefix');
  // npm's own environment (not tap's loader) and the repository's npm settings.
  const env = { ...process.env, NODE_OPTIONS: '' };
  const tarball = sh(['npm', 'pack', '--silent', '--pack-destination', work], { cwd: repoRoot, env }).trim().split('\n').pop()!;
  sh(['npm', 'install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', path.join(work, tarball)], { cwd: work, env });

  for (const name of PROGRAMS) {
    const bin = path.join(prefix, 'bin', name);
    t.ok(fs.existsSync(bin), `${name} is in PREFIX/bin`);
    t.ok(fs.existsSync(path.join(prefix, 'share', 'man', 'man1', `${name}.1`)), `${name}(1) is in PREFIX/share/man/man1`);
  }
  const usage = spawnSync(path.join(prefix, 'bin', 'tlswrapper'), [], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  t.equal(usage.status, 100, 'tlswrapper without arguments: exit 100');
  t.match(usage.stderr, /^tlswrapper: fatal: missing prog \(usage: tlswrapper \[options\]/, 'and its usage line');
  const man = spawnSync('man', ['-M', path.join(prefix, 'share', 'man'), '-P', 'cat', 'tlswrapper'], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '100' } });
  if (man.error) t.comment(`man not runnable here: ${man.error.message}`);
  else t.match(man.stdout, /x25519mlkem768/, 'man finds our page, not Debian\'s');

  const missing = superServerMissing('tcpserver');
  if (missing) return t.comment(missing);
  const cert = leafCert('p256');
  const s = await serve(t, 'tcpserver', [...NO_TAP_LOADER, path.join(prefix, 'bin', 'tlswrapper'), '-f', cert.pem, 'cat']);
  const r = await opensslClient({ port: s.port, caFile: cert.caCert, tls: '1.3', input: 'installed\n', until: 'installed\n' });
  t.equal(r.data, 'installed\n', 'the installed tlswrapper serves a TLS client');
});
