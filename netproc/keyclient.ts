// netproc's side of the keyproc RPC: one SELECT, then one SIGN13. Answers are
// checked against what was asked; anything else ends the connection.
import type { Socket } from 'node:net';
import { encodeFrame, FrameReader } from '../wire/frame';
import { decodeChain, decodeFail, encodeSelect, encodeSign12, encodeSign13, KeyMsg, type ChainAnswer, type SelectRequest, type Sign12Request } from '../wire/keyrpc';

export type KeyAnswer =
  | { type: 'chain'; answer: ChainAnswer }
  | { type: 'fail'; alert: number }
  | { type: 'signature'; signature: Uint8Array };

export class KeyClient {
  private readonly frames = new FrameReader();
  private expecting: 'nothing' | 'chain' | 'signature' = 'nothing';

  constructor(
    private readonly toKey: Socket,
    fromKey: Socket,
    onAnswer: (a: KeyAnswer) => void,
    onError: (message: string) => void,
  ) {
    fromKey.on('data', (chunk: Buffer) => {
      try {
        for (const frame of this.frames.push(chunk)) onAnswer(this.decode(frame.type, frame.payload));
      } catch (e) {
        onError(`keyproc: ${(e as Error).message}`);
      }
    });
    fromKey.on('end', () => {
      if (this.expecting !== 'nothing') onError('keyproc closed the pipe without an answer');
    });
    fromKey.on('error', (e) => onError(`keyproc pipe: ${e.message}`));
    toKey.on('error', (e) => onError(`keyproc pipe: ${e.message}`));
    fromKey.resume();
  }

  private decode(type: number, payload: Uint8Array): KeyAnswer {
    const expected = this.expecting;
    this.expecting = 'nothing';
    if (expected === 'chain' && type === KeyMsg.CHAIN) return { type: 'chain', answer: decodeChain(payload) };
    if (expected === 'chain' && type === KeyMsg.FAIL) return { type: 'fail', alert: decodeFail(payload) };
    if (expected === 'signature' && type === KeyMsg.SIGNATURE && payload.length > 0) return { type: 'signature', signature: payload };
    throw new Error(`unexpected message ${type} while waiting for ${expected}`);
  }

  select(request: SelectRequest): void {
    this.expecting = 'chain';
    this.toKey.write(encodeFrame(KeyMsg.SELECT, encodeSelect(request)));
  }

  sign12(request: Sign12Request): void {
    this.expecting = 'signature';
    this.toKey.write(encodeFrame(KeyMsg.SIGN12, encodeSign12(request)));
  }

  sign13(transcriptHash: Uint8Array): void {
    this.expecting = 'signature';
    this.toKey.write(encodeFrame(KeyMsg.SIGN13, encodeSign13(transcriptHash)));
  }

  /** keyproc has nothing more to do for us. */
  close(): void {
    this.toKey.end();
  }
}
