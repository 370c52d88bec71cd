'use strict';
// The floor row of the bench (`--only floor`), not a wrapper anybody should
// run: the least a Node program run per connection can do. One process, Node's
// own TLS (OpenSSL, native code) with the key in its memory, no jail, no key
// process, then prog started once the handshake is done, bytes piped both ways.
// No design of ours can start a connection faster than this, since each of
// ours is at least this plus privilege separation; its seq p50 beside the
// `node -e 0` unit says how far any per-connection Node design is from one
// bare Node start.
//
//   tcpserver ... node bench/floor.cjs PEM prog [args...]   (PEM: key and chain, as -f)
const { readFileSync } = require('node:fs');
const { Socket } = require('node:net');
const { TLSSocket } = require('node:tls');
const { spawn } = require('node:child_process');

const [pem, ...prog] = process.argv.slice(2);
if (!pem || prog.length === 0) {
  process.stderr.write('usage: floor.cjs PEM prog [args...]\n');
  process.exit(100);
}
const keyAndChain = readFileSync(pem);
const client = new TLSSocket(new Socket({ fd: 0, readable: true, writable: true }), { isServer: true, key: keyAndChain, cert: keyAndChain });
client.on('error', () => process.exit(111));
client.once('secure', () => {
  const child = spawn(prog[0], prog.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  client.pipe(child.stdin);
  child.stdout.pipe(client);
  child.stdin.on('error', () => {});
  child.on('exit', (code) => process.exit(code ?? 111));
});
