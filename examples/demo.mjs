#!/usr/bin/env node
// A throwaway demo: a tiny inetd of our own on 127.0.0.1 that runs
// `bin/tlswrapper -f <fresh certificate> examples/hello-http.sh` for every
// connection, the way tcpserver or systemd would. Run as root (tlswrapper jails
// its processes, which needs root). Usage: node examples/demo.mjs [port]
//
// The certificate and its private key live in a temporary directory that is
// removed when the demo ends (Ctrl-C, SIGTERM, SIGHUP, or an error).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.argv[2] ?? 8443);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`'${process.argv[2]}' is not a port number (1-65535)`);

const dir = mkdtempSync(join(tmpdir(), 'tlswrapper-demo-'));
const cleanUp = () => rmSync(dir, { recursive: true, force: true });
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(0));

function fail(message) {
  console.error(`demo: ${message}`);
  process.exit(1);
}

try {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
} catch (e) {
  fail(`unable to make a certificate with openssl (${e.code === 'ENOENT' ? 'openssl not found: apt-get install openssl' : e.message})`);
}
const pem = join(dir, 'localhost.pem');
writeFileSync(pem, readFileSync(join(dir, 'key.pem')) + readFileSync(join(dir, 'cert.pem')), { mode: 0o600 });
rmSync(join(dir, 'key.pem'));

// pauseOnConnect: not one byte may be read here; the connection belongs to tlswrapper.
const server = createServer({ pauseOnConnect: true }, (socket) => {
  const child = spawn(join(root, 'bin/tlswrapper'), ['-v', '-f', pem, join(root, 'examples/hello-http.sh')], {
    stdio: [socket, socket, 'inherit'],
  });
  socket.destroy(); // the child has its own copy
  child.on('error', (e) => console.error(`demo: ${e.message}`));
});
server.on('error', (e) => {
  const why = { EADDRINUSE: 'the port is in use', EACCES: 'permission denied' }[e.code] ?? e.message;
  fail(`unable to listen on 127.0.0.1:${port}: ${why}`);
});
server.listen(port, '127.0.0.1', () => {
  const cert = join(dir, 'cert.pem');
  console.log(`tlswrapper demo on https://127.0.0.1:${port}/ (certificate ${cert})`);
  console.log(`  curl --cacert ${cert} https://localhost:${port}/`);
  console.log(`  openssl s_client -connect 127.0.0.1:${port} -servername localhost -CAfile ${cert}`);
  console.log('Ctrl-C ends the demo and removes its certificate and key.');
});
