// Reading a candidate's PEM bytes, as root, before the jail. Nothing here
// parses: the bytes are parsed only inside the jail (pem.ts).
//
// A candidate from -d DIR is DIR/NAME. Our addition (the C tlswrapper knows
// only the single file): certbot's layout, DIR/NAME/privkey.pem and
// DIR/NAME/fullchain.pem. Precedence and errors:
//   - DIR/NAME is a regular file: it is the key+chain file, as always; any
//     privkey.pem/fullchain.pem elsewhere play no part;
//   - DIR/NAME is a directory: DIR/NAME/privkey.pem (the key) and
//     DIR/NAME/fullchain.pem (leaf first, then the chain) are read; both must
//     be regular files. A directory lacking either one is a configuration
//     error, like a broken PEM file: fatal (alert 80, one fatal log line);
//   - DIR/NAME does not exist: this source has nothing for the name (skipped);
//   - anything else (a FIFO, a device, ...): fatal, as today.
// Symlinks are followed, at every step: certbot's live/NAME/*.pem are links
// into archive/NAME/, and the tree is the administrator's own. The paths
// themselves are built by candidatePaths() with the fixpath rule.
import * as fs from 'node:fs';
import type { Candidate } from './paths';

/** Largest PEM file we read: a key and a long chain fit many times over. */
export const MAX_PEM = 1024 * 1024;

// O_NONBLOCK: a FIFO in the cert dir must not hang us; O_NOCTTY: never a controlling tty.
const FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;

/** A read that is a configuration error; `path` is the file to name in the fatal log line. */
export class ReadError extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${path}: ${why}`);
  }
}

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err && err.code ? err.code : err instanceof Error ? err.message : String(e);
}

/** Reads an open regular file of at most MAX_PEM bytes; throws a plain Error otherwise. */
function readOpen(fd: number): Buffer {
  const st = fs.fstatSync(fd);
  if (!st.isFile()) throw new Error('not a regular file');
  if (st.size > MAX_PEM) throw new Error(`larger than ${MAX_PEM} bytes`);
  const buf = Buffer.alloc(MAX_PEM + 1);
  try {
    let have = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, have, buf.length - have, null);
      if (n === 0) break;
      have += n;
      if (have > MAX_PEM) throw new Error(`larger than ${MAX_PEM} bytes`);
    }
    return Buffer.from(buf.subarray(0, have));
  } finally {
    buf.fill(0);
  }
}

/** Reads one PEM file: a regular file, at most MAX_PEM bytes. Throws ReadError. */
export function readPemFile(path: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(path, FLAGS);
  } catch (e) {
    throw new ReadError(path, errText(e));
  }
  try {
    return readOpen(fd);
  } catch (e) {
    throw new ReadError(path, errText(e));
  } finally {
    fs.closeSync(fd);
  }
}

export interface CandidateBytes {
  /** What to name in log lines: the file, or DIR/NAME/{privkey,fullchain}.pem. */
  label: string;
  /** Key and chain, in one buffer as pem.ts expects (certbot: key, then fullchain). */
  bytes: Buffer;
}

/**
 * The candidate's bytes; null when a -d candidate does not exist (ENOENT on
 * DIR/NAME: nothing for this name there). Throws ReadError for everything
 * that is a configuration error.
 */
export function readCandidate(c: Candidate): CandidateBytes | null {
  let fd: number;
  try {
    fd = fs.openSync(c.path, FLAGS);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && c.source.kind === 'dir') return null;
    throw new ReadError(c.path, errText(e));
  }
  let isDir: boolean;
  try {
    isDir = fs.fstatSync(fd).isDirectory();
    // The single file wins: read it through the fd we stat'ed.
    if (!isDir || !c.certbot) return { label: c.path, bytes: readOpen(fd) };
  } catch (e) {
    throw new ReadError(c.path, errText(e));
  } finally {
    fs.closeSync(fd);
  }
  const key = readPemFile(c.certbot.key);
  let chain: Buffer;
  try {
    chain = readPemFile(c.certbot.chain);
  } catch (e) {
    key.fill(0);
    throw e;
  }
  const bytes = Buffer.concat([key, Buffer.from('\n'), chain]);
  key.fill(0);
  chain.fill(0);
  return { label: `${c.path}/{privkey,fullchain}.pem`, bytes };
}
