#!/usr/bin/env node
// A throwaway demo: a tiny inetd of our own on 127.0.0.1 that runs
// `bin/tlswrapper -f <fresh certificate> examples/hello-http.sh` for every
// connection, the way tcpserver or systemd would. Run as root (tlswrapper jails
// its processes, which needs root). Usage: node examples/demo.mjs [port]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.argv[2] ?? 8443);
const dir = mkdtempSync(join(tmpdir(), 'tlswrapper-demo-'));
execFileSync('openssl', [
  'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
], { stdio: 'ignore' });
const pem = join(dir, 'localhost.pem');
writeFileSync(pem, readFileSync(join(dir, 'key.pem')) + readFileSync(join(dir, 'cert.pem')));

// pauseOnConnect: not one byte may be read here; the connection belongs to tlswrapper.
const server = createServer({ pauseOnConnect: true }, (socket) => {
  const child = spawn(join(root, 'bin/tlswrapper'), ['-v', '-f', pem, join(root, 'examples/hello-http.sh')], {
    stdio: [socket, socket, 'inherit'],
  });
  socket.destroy(); // the child has its own copy
  child.on('error', (e) => console.error(`demo: ${e.message}`));
});
server.listen(port, '127.0.0.1', () => {
  console.log(`tlswrapper demo on https://127.0.0.1:${port}/ (certificate ${join(dir, 'cert.pem')})`);
  console.log(`  curl --cacert ${join(dir, 'cert.pem')} https://localhost:${port}/`);
  console.log(`  openssl s_client -connect 127.0.0.1:${port} -servername localhost`);
});
