// keyproc: the only process that ever holds the private key.
//
// fd 0: RPC frames from netproc; fd 1: RPC frames to netproc; fd 2: log;
// fd 3: the JSON configuration from the entry (see config.ts), read to its end first.
//
// Flow: prepare the jail -> SELECT -> validate name, build candidate paths,
// read the PEM files as root -> enter the jail -> parse the PEM files, pick the
// chain and scheme -> CHAIN -> SIGN13 (after a TLS 1.3 SELECT) or SIGN12
// (TLS 1.2 and older) -> build the content, sign -> SIGNATURE -> exit 0. One
// signature per process. Anything netproc sends out of order or malformed:
// nothing more is written and the exit status is non-zero.
import * as net from 'node:net';
import * as crypto from 'node:crypto';
import { Alert, ProtocolVersion, signatureSchemeByCode } from '../tls/tables';
import { signByScheme, verifyByScheme } from '../tls/signature';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../lib/exitcodes';
import { encodeFrame, FrameReader, type Frame } from '../wire/frame';
import { KeyMsg, decodeSelect, encodeChain, encodeFail, decodeSign13, decodeSign12 } from '../wire/keyrpc';
import { prepareForJail, enterJail } from '../jail/jail';
import { parseConfig, type KeyprocConfig } from './config';
import { log, setVerbosity } from './log';
import { validateServerName } from '../lib/hostname';
import { printable } from '../lib/log';
import { candidatePaths } from './paths';
import { readCandidate, ReadError, type CandidateBytes } from './read';
import { parseKeyAndChain } from '../lib/pem';
import { versionSupported } from './schemes';
import { selectChain, type Loaded } from './select';
import { certificateVerifyContent13, serverKeyExchangeContent12 } from './content';
import { rehearseSigning } from './warmup';
import { readConfigPipe } from '../lib/configpipe';
import { errnoWords, systemErrorText } from '../lib/errno';

/** Where the entry writes keyproc's configuration (src/connection.ts). */
const CONFIG_FD = 3;

export const EXIT = { ok: EXIT_OK, protocol: EXIT_USAGE, fatal: EXIT_FAILURE } as const;
export { MAX_PEM } from './read';

/** sign13: after a TLS 1.3 CHAIN; sign12: after a CHAIN for TLS 1.2 and older. */
type State = 'select' | 'sign13' | 'sign12' | 'done';

/** An error for a log line: its errno in words, else its message. */
const errText = systemErrorText;

class KeyProcess {
  private state: State = 'select';
  private readonly reader = new FrameReader();
  private selected?: { key: crypto.KeyObject; scheme: number } | undefined;
  private violation = false;

  constructor(
    private readonly config: KeyprocConfig,
    private readonly input: net.Socket,
    private readonly output: net.Socket,
  ) {}

  start(): void {
    this.input.on('data', (chunk: Buffer) => this.onData(chunk));
    this.input.on('end', () => this.onEnd());
    this.input.on('error', (e) => {
      log('debug', `reading from netproc: ${errText(e)}`);
      this.exit(EXIT.protocol);
    });
    this.output.on('error', (e) => {
      log('debug', `writing to netproc: ${errText(e)}`);
      this.exit(EXIT.protocol);
    });
  }

  private exit(code: number): never {
    process.exit(code);
  }

  private protocolError(why: string): never {
    log('debug', `protocol violation from netproc: ${why}`);
    this.exit(EXIT.protocol);
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.protocolError(errText(e));
    }
    for (const f of frames) this.onFrame(f);
  }

  private onEnd(): void {
    if (this.reader.pending > 0) this.protocolError(`EOF inside a frame (${this.reader.pending} bytes)`);
    if (this.state === 'done') return; // the answer's write callback exits
    log('tracing', `EOF from netproc in state ${this.state}`);
    this.exit(EXIT.ok);
  }

  private onFrame(f: Frame): void {
    if (this.state === 'done') {
      // Our answer is already on its way; the extra frame makes the exit non-zero.
      this.violation = true;
      log('debug', `protocol violation from netproc: frame type ${f.type} after the answer`);
      return;
    }
    if (this.state === 'select' && f.type === KeyMsg.SELECT) return this.onSelect(f.payload);
    if (this.state === 'sign13' && f.type === KeyMsg.SIGN13) return this.onSign13(f.payload);
    if (this.state === 'sign12' && f.type === KeyMsg.SIGN12) return this.onSign12(f.payload);
    this.protocolError(`frame type ${f.type} in state ${this.state}`);
  }

  /** Writes one frame and exits once it is out (the last thing this process does). */
  private answerAndExit(type: number, payload: Uint8Array, code: number): void {
    this.state = 'done';
    let frame: Uint8Array;
    try {
      frame = encodeFrame(type, payload);
    } catch (e) {
      log('fatal', `unable to encode the answer: ${errText(e)}`);
      this.exit(EXIT.fatal);
    }
    this.output.write(frame, (err) => {
      if (err) log('debug', `writing to netproc: ${errText(err)}`);
      this.exit(err ? EXIT.protocol : this.violation && code === EXIT.ok ? EXIT.protocol : code);
    });
  }

  private fail(alert: number, code: number = EXIT.ok): void {
    this.answerAndExit(KeyMsg.FAIL, encodeFail(alert), code);
  }

  private onSelect(payload: Uint8Array): void {
    let req;
    try {
      req = decodeSelect(payload);
    } catch (e) {
      this.protocolError(`bad SELECT: ${errText(e)}`);
    }
    if (!versionSupported(req.version)) {
      log('debug', `SELECT for unsupported version 0x${req.version.toString(16)}`);
      return this.fail(Alert.handshakeFailure);
    }
    const checked = validateServerName(req.serverName);
    if (!checked.ok) {
      log('info', `invalid server name '${printable(req.serverName)}': ${checked.reason}`);
      return this.fail(Alert.unrecognizedName);
    }
    const name = checked.name;
    log('debug', name ? `server name '${name}'` : 'no server name');

    // As root: read every candidate file; parse nothing yet.
    // -d sources: DIR/NAME, or certbot's DIR/NAME/{privkey,fullchain}.pem (see read.ts).
    const files: CandidateBytes[] = [];
    const missing: string[] = [];
    for (const candidate of candidatePaths(this.config.certs, name)) {
      try {
        const got = readCandidate(candidate);
        if (!got) {
          missing.push(candidate.path);
          log('debug', `unable to obtain certificate(s) from the PEM file '${printable(candidate.path)}' (${errnoWords('ENOENT')})`);
          continue;
        }
        files.push(got);
        log('tracing', `read '${printable(got.label)}'`);
      } catch (e) {
        const where = e instanceof ReadError ? e.path : candidate.path;
        const why = e instanceof ReadError ? errnoWords(e.why) : errText(e);
        for (const f of files) f.bytes.fill(0);
        log('fatal', `unable to obtain certificate(s) from the PEM file '${printable(where)}' (${why})`);
        return this.fail(Alert.internalError, EXIT.fatal);
      }
    }
    if (files.length === 0) {
      if (name) {
        // A problem with the PEM files: said at the default verbosity (-Q), as tlswrapper does.
        const paths = missing.map((p) => `'${printable(p)}'`).join(', ');
        log('fatal', `unable to obtain certificate(s) from the PEM file ${paths} (${errnoWords('ENOENT')}), for server name '${name}'`);
        return this.fail(Alert.unrecognizedName);
      }
      log('info', 'no server name and no -f PEM file');
      return this.fail(Alert.handshakeFailure);
    }

    try {
      enterJail(this.config.jail);
    } catch (e) {
      log('fatal', `unable to enter the jail: ${errText(e)}`);
      for (const f of files) f.bytes.fill(0);
      return this.fail(Alert.internalError, EXIT.fatal);
    }
    log('tracing', 'jailed');

    // In the jail: parse lazily, in order, until one fits.
    let broken: { path: string; why: string } | undefined;
    function* parsed(): Generator<Loaded> {
      for (const f of files) {
        try {
          const { key, chain } = parseKeyAndChain(f.bytes);
          yield { path: f.label, key, chain };
        } catch (e) {
          broken = { path: f.label, why: errText(e) };
          return;
        } finally {
          f.bytes.fill(0);
        }
      }
    }
    const selection = selectChain(parsed(), req.version, req.schemes, req.keyClasses, req.curves);
    for (const f of files) f.bytes.fill(0);
    if (!selection && broken) {
      log('fatal', `unable to obtain certificate(s) from the PEM file '${printable(broken.path)}' (${broken.why})`);
      return this.fail(Alert.internalError, EXIT.fatal);
    }
    if (!selection) {
      const schemes = req.schemes.map((s) => '0x' + s.toString(16).padStart(4, '0')).join(',');
      const classes = req.version === ProtocolVersion.tls13 ? '' : `, key classes ${req.keyClasses.join(',')}`;
      log('info', `no certificate fits version 0x${req.version.toString(16)} (signature schemes ${schemes}${classes})`);
      return this.fail(Alert.handshakeFailure);
    }
    const { candidate, scheme } = selection;
    log('debug', `using '${printable(candidate.path)}' with ${signatureSchemeByCode(scheme)!.name}`);
    this.selected = { key: candidate.key, scheme };
    let frame: Uint8Array;
    try {
      frame = encodeFrame(KeyMsg.CHAIN, encodeChain({ scheme, chain: candidate.chain }));
    } catch (e) {
      log('fatal', `certificate chain in '${printable(candidate.path)}' does not fit a frame: ${errText(e)}`);
      return this.fail(Alert.internalError, EXIT.fatal);
    }
    this.state = req.version === ProtocolVersion.tls13 ? 'sign13' : 'sign12';
    this.output.write(frame);
  }

  private onSign13(payload: Uint8Array): void {
    let content: Buffer;
    try {
      content = certificateVerifyContent13(decodeSign13(payload));
    } catch (e) {
      this.protocolError(`bad SIGN13: ${errText(e)}`);
    }
    this.signAndAnswer(content);
  }

  private onSign12(payload: Uint8Array): void {
    let content: Buffer;
    try {
      // The codec checks the randoms' lengths; the content builder the group and point.
      content = serverKeyExchangeContent12(decodeSign12(payload));
    } catch (e) {
      this.protocolError(`bad SIGN12: ${errText(e)}`);
    }
    this.signAndAnswer(content);
  }

  private signAndAnswer(content: Buffer): void {
    const { key, scheme } = this.selected!;
    let signature: Buffer;
    try {
      signature = signByScheme(key, scheme, content);
      // A faulty signature (e.g. an RSA-CRT fault) can leak the key: check before sending.
      if (!verifyByScheme(crypto.createPublicKey(key), scheme, content, signature)) throw new Error('self-check failed');
    } catch (e) {
      log('fatal', `unable to sign: ${errText(e)}`);
      this.exit(EXIT.fatal);
    }
    this.selected = undefined;
    this.answerAndExit(KeyMsg.SIGNATURE, signature, EXIT.ok);
  }
}

async function main(): Promise<void> {
  process.on('uncaughtException', (e) => {
    log('fatal', `internal error: ${errText(e)}`);
    process.exit(EXIT.fatal);
  });
  let config: KeyprocConfig;
  try {
    config = parseConfig(await readConfigPipe(CONFIG_FD));
  } catch (e) {
    log('fatal', `bad configuration: ${errText(e)}`);
    process.exit(EXIT.fatal);
  }
  setVerbosity(config.verbosity);
  if (config.rehearse) {
    try {
      rehearseSigning();
    } catch (e) {
      log('debug', `signing rehearsal: ${errText(e)}`);
    }
  }
  let input: net.Socket, output: net.Socket;
  try {
    await prepareForJail();
    // Both ends exist before the jail: nothing has to be opened later.
    input = new net.Socket({ fd: 0, readable: true, writable: false, allowHalfOpen: true });
    output = new net.Socket({ fd: 1, readable: false, writable: true });
  } catch (e) {
    log('fatal', `unable to start: ${errText(e)}`);
    process.exit(EXIT.fatal);
  }
  new KeyProcess(config, input, output).start();
}

// Run by dist/keyproc.js, which loads this bundle with its code cache (build.mjs).
export { main };
// The build rehearses signing before it writes the code cache, as a spare keyproc does before its client.
export { rehearseSigning as rehearseForCodeCache } from './warmup';
