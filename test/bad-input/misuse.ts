// tlswrapper run the wrong way, as a new user would by hand: one fatal line
// that says what it needs, the right exit status, no stack trace, no child
// process's words.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { leafCert } from '../lib/certs';
import { ours } from '../lib/ours';

const cert = leafCert('p256');

/** tlswrapper with these options and stdio; its status and stderr. */
function tlswrapper(args: string[], stdio: Parameters<typeof spawnSync>[2] = {}) {
  const argv = ours(args);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60000, ...stdio });
  return { status: r.status, stderr: String(r.stderr) };
}

t.test('not on a connection (stdin /dev/null, or a regular file): exit 100, what it needs', async (t) => {
  for (const [label, fd0] of [['/dev/null', 'ignore'], ['a regular file', cert.pem]] as const) {
    const stdin = fd0 === 'ignore' ? 'ignore' : fs.openSync(fd0, 'r');
    const r = tlswrapper(['-f', cert.pem, 'cat'], { stdio: [stdin, 'pipe', 'pipe'] });
    t.equal(r.status, 100, `${label}: exit 100`);
    t.match(r.stderr, /^tlswrapper: fatal: fd 0 is (a device|a regular file), not the client's connection: tlswrapper is run by a super-server \(tcpserver, busybox tcpsvd, inetd, systemd Accept=yes\) with the client's socket on fds 0 and 1\n$/, `${label}: one line`);
  }
});

t.test('not root: exit 111, and why root is needed', async (t) => {
  const [a, b] = await socketPair();
  t.teardown(() => { a.destroy(); b.destroy(); });
  const argv = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...ours(['-f', cert.pem, 'cat'])];
  // The socket on fds 0/1, as a super-server would give it.
  const fd = (b as unknown as { _handle: { fd: number } })._handle.fd;
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60000, stdio: [fd, fd, 'pipe'] });
  t.equal(r.status, 111);
  t.equal(r.stderr, 'tlswrapper: fatal: unable to create jail (not root: the network and key processes chroot to the jail directory and take their own uid, which needs root)\n');
});

t.test('-c and -e typos list the names tlswrapper knows', async (t) => {
  const c = tlswrapper(['-c', 'RC4', '-f', cert.pem, 'cat']);
  t.equal(c.status, 100);
  t.match(c.stderr, /^tlswrapper: fatal: unknown cipher 'RC4' \(-c\), known: CHACHA20_POLY1305_SHA256, AES_256_GCM_SHA384, AES_128_GCM_SHA256, .*AES_128_CBC_SHA\n$/);
  const e = tlswrapper(['-e', 'x447', '-f', cert.pem, 'cat']);
  t.equal(e.status, 100);
  t.equal(e.stderr, "tlswrapper: fatal: unknown ephemeral algorithm 'x447' (-e), known: x25519mlkem768, x25519, secp256r1, secp384r1, secp521r1, x448\n");
});

/** A connected pair of TCP sockets on 127.0.0.1. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const other = await accepted;
  server.close();
  return [client, other];
}
