#!/usr/bin/env node
// A prog for delayed encryption (tlswrapper -n, --ucspi-tls): speaks enough
// SMTP in plaintext for `openssl s_client -starttls smtp` and line clients,
// asks for TLS on STARTTLS the way MODE says, then reports what it saw in one
// status line over TLS and echoes the TLS data byte for byte.
//
//   starttls-prog.mjs MODE [EXIT [GAP]]
//     EXIT: its status when stdin ends or on QUIT (default 0);
//     GAP: milliseconds between its last plaintext reply and the command (default 0)
//
// MODE  n0          -n: 0x00 on fd 5, the ack on fd 6 (one 0x00, then EOF)
//       n1          -n: 0x01 on fd 5, the ack, then the facts on fd 6 up to EOF, dropping stdin meanwhile
//       debian      -n, Debian's older protocol: the final reply on fd 5, closed; fd 6 has no ack
//       decline     -n: fd 5 closed without a byte; stays in plaintext
//       ucspi-y     --ucspi-tls: 'y' on SSLCTLFD, TLS data on SSLREADFD/SSLWRITEFD
//       ucspi-Y     --ucspi-tls: 'Y', then the facts on SSLCTLFD
//       ucspi-eof   --ucspi-tls: SSLCTLFD closed without a command; stays in plaintext
//       ucspi-bad   --ucspi-tls: 'x' on SSLCTLFD
//
// Plaintext commands (lines, CRLF or LF): EHLO/HELO, ENV (the environment,
// one 250- line each), NOOP, QUIT, STARTTLS; anything else is echoed as
// "250 echo: LINE". After STARTTLS the discipline of a careful server (and
// upstream's tlswrapper-smtp): every plaintext byte read but not yet used and
// every byte still in the stdin pipe is thrown away ("discarded" in the status
// line), so a client's pipelined bytes never pass for TLS data.
//
// All I/O is synchronous (fs.readSync/writeSync): fds 5/6/7 are blocking.
import * as fs from 'node:fs';
import * as net from 'node:net';

const mode = process.argv[2] ?? 'n0';
const exitCode = Number(process.argv[3] ?? 0);
const gapMs = Number(process.argv[4] ?? 0);
const ucspi = mode.startsWith('ucspi');
const envAtStart = Object.keys(process.env).sort();

const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** One read: bytes, or an empty buffer at EOF; null for EAGAIN when `nonblocking`. */
function readSome(fd, max = 65536, nonblocking = false) {
  const b = Buffer.alloc(max);
  for (;;) {
    try {
      return b.subarray(0, fs.readSync(fd, b, 0, max, null));
    } catch (e) {
      if (e.code === 'EAGAIN') {
        if (nonblocking) return null;
        pause(5);
        continue;
      }
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return Buffer.alloc(0);
      throw e;
    }
  }
}

function readToEof(fd) {
  const chunks = [];
  for (;;) {
    const c = readSome(fd);
    if (c.length === 0) return Buffer.concat(chunks);
    chunks.push(c);
  }
}

/** Write it all; the error code if the other end is gone. */
function writeAll(fd, data) {
  let b = Buffer.from(data);
  while (b.length > 0) {
    try {
      b = b.subarray(fs.writeSync(fd, b));
    } catch (e) {
      if (e.code === 'EAGAIN') {
        pause(5);
        continue;
      }
      return e.code;
    }
  }
  return 'ok';
}

const IN = 0;
const OUT = 1;
let buffered = Buffer.alloc(0);

/** The next line (with its end), or null at EOF (anything after the last newline is dropped). */
function readLine() {
  for (;;) {
    const i = buffered.indexOf(0x0a);
    if (i >= 0) {
      const line = buffered.subarray(0, i + 1);
      buffered = buffered.subarray(i + 1);
      return line.toString('latin1');
    }
    const c = readSome(IN);
    if (c.length === 0) return null;
    buffered = Buffer.concat([buffered, c]);
  }
}

/** Everything in the stdin pipe right now, without waiting (makes fd 0 non-blocking for good). */
let stdinNonblocking = false;
function drainStdin() {
  // libuv sets O_NONBLOCK when it opens the descriptor; nothing is read through it.
  if (!stdinNonblocking) new net.Socket({ fd: IN, readable: false, writable: false });
  stdinNonblocking = true;
  const chunks = [];
  for (;;) {
    const c = readSome(IN, 65536, true);
    if (c === null || c.length === 0) return Buffer.concat(chunks);
    chunks.push(c);
  }
}

const say = (text) => writeAll(OUT, text);
const hex = (b) => Buffer.from(b).toString('hex');

/** TLS now: the status line, then an exact echo until the client's data ends. */
function tlsPhase(inFd, outFd, status) {
  // Also on stderr (the super-server's log), for when TLS itself fails; long values cut.
  const brief = Object.fromEntries(Object.entries(status).map(([k, v]) => [k, typeof v === 'string' && v.length > 100 ? `${v.slice(0, 100)}...(${v.length} bytes)` : v]));
  writeAll(2, `starttls-prog: ${JSON.stringify({ mode, ...brief })}\n`);
  writeAll(outFd, `TLS ${JSON.stringify({ mode, envAtStart, ...status })}\r\n`);
  // What arrived as TLS data, for a client that never got as far as TLS (reported at the end).
  let total = 0;
  let tail = '';
  let injected = false;
  for (;;) {
    const c = readSome(inFd);
    if (c.length === 0) break;
    total += c.length;
    const text = tail + c.toString('latin1');
    if (text.includes('INJECTED')) injected = true;
    tail = text.slice(-8);
    if (writeAll(outFd, c) !== 'ok') break;
  }
  writeAll(2, `starttls-prog: TLS phase read ${total} bytes${injected ? ', INJECTED among them' : ''}\n`);
  process.exit(exitCode);
}

function startTls() {
  if (mode === 'decline' || mode === 'ucspi-eof') {
    fs.closeSync(5);
    // -n: netproc ends the ack pipe too; --ucspi-tls has nothing more on fd 5.
    const fd6 = mode === 'decline' ? hex(readToEof(6)) : '';
    say(`454 TLS not available${mode === 'decline' ? ` fd6=${fd6}` : ''}\r\n`);
    return;
  }
  if (mode === 'ucspi-bad') {
    say('220 go ahead\r\n');
    writeAll(5, 'x');
    return;
  }
  if (mode === 'debian') {
    writeAll(5, '220 ready to start TLS\r\n');
    fs.closeSync(5);
    const fd6 = hex(readToEof(6));
    const discarded = Buffer.concat([buffered, drainStdin()]).toString('latin1');
    return tlsPhase(IN, OUT, { fd6, discarded });
  }
  say('220 go ahead\r\n');
  if (gapMs > 0) pause(gapMs);
  if (mode === 'n0') {
    writeAll(5, Uint8Array.of(0));
    const ack = hex(readSome(6, 1));
    // 0x00: what stdin has right after the ack came before TLS (best effort).
    const discarded = Buffer.concat([buffered, drainStdin()]).toString('latin1');
    const after = readToEof(6).toString('latin1');
    return tlsPhase(IN, OUT, { ack, after, discarded });
  }
  if (mode === 'n1') {
    writeAll(5, Uint8Array.of(1));
    const ack = hex(readSome(6, 1));
    // 0x01 (tlswrapper(1)): read and drop stdin until fd 6 reaches its end, the facts coming on it meanwhile.
    drainStdin();
    new net.Socket({ fd: 6, readable: false, writable: false }); // non-blocking too
    const dropped = [buffered];
    const facts = [];
    for (;;) {
      let idle = true;
      const d = readSome(IN, 65536, true);
      if (d !== null && d.length > 0) {
        dropped.push(d);
        idle = false;
      }
      const f = readSome(6, 65536, true);
      if (f !== null) {
        if (f.length === 0) break;
        facts.push(f);
        idle = false;
      }
      if (idle) pause(2);
    }
    const discarded = Buffer.concat(dropped).toString('latin1');
    return tlsPhase(IN, OUT, { ack, after: Buffer.concat(facts).toString('latin1'), discarded });
  }
  if (mode === 'ucspi-y' || mode === 'ucspi-Y') {
    writeAll(5, mode === 'ucspi-y' ? 'y' : 'Y');
    // fd 0 ends at the switch: what comes first is what the client pipelined.
    const fd0 = Buffer.concat([buffered, readToEof(IN)]).toString('latin1');
    const leak = writeAll(OUT, 'LEAK\r\n');
    const facts = readToEof(5).toString('latin1');
    return tlsPhase(6, 7, { fd0, leak, facts });
  }
  throw new Error(`unknown mode ${mode}`);
}

say(`220 starttls-prog ${mode}\r\n`);
for (;;) {
  const line = readLine();
  if (line === null) process.exit(exitCode);
  const word = line.trim().split(' ')[0].toUpperCase();
  if (word === 'EHLO' || word === 'HELO') say('250-localhost\r\n250-PIPELINING\r\n250 STARTTLS\r\n');
  else if (word === 'ENV') say(`${envAtStart.map((k) => `250-${k}=${process.env[k]}\r\n`).join('')}250 ENV\r\n`);
  else if (word === 'NOOP') say('250 ok\r\n');
  else if (word === 'QUIT') {
    say('221 bye\r\n');
    process.exit(exitCode);
  } else if (word === 'STARTTLS') startTls();
  else say(`250 echo: ${line.trimEnd()}\r\n`);
}
