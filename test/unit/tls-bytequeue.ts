// The record layer's input queue: bytes come out in order across chunk
// boundaries, and a chunk is let go of as soon as it is spent (a queue that
// rarely empties, as while data flows, must not keep every read it was given).
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ByteQueue } from '../../tls/record';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** A WeakRef's target may be collected only after the job that made it: let it end, then collect. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
}

t.test('bytes come out in order, across chunks', async (t) => {
  const q = new ByteQueue();
  q.push(Uint8Array.of(1, 2, 3));
  q.push(new Uint8Array(0));
  q.push(Uint8Array.of(4, 5));
  q.push(Uint8Array.of(6));
  t.equal(q.length, 6);
  t.equal(q.at(3), 4, 'at() looks across a chunk boundary');
  t.same([...q.take(2)], [1, 2], 'within a chunk');
  t.same([...q.take(3)], [3, 4, 5], 'across one');
  t.same([...q.take(1)], [6]);
  t.equal(q.length, 0);
  t.throws(() => q.take(1), RangeError, 'past the end');
});

t.test('a spent chunk is let go of while later ones stay queued', async (t) => {
  const q = new ByteQueue();
  let first: Uint8Array | undefined = new Uint8Array(64 * 1024);
  let second: Uint8Array | undefined = new Uint8Array(64 * 1024);
  const firstRef = new WeakRef(first.buffer);
  const secondRef = new WeakRef(second.buffer);
  q.push(first);
  q.push(second);
  first = second = undefined;
  // All of the first chunk and part of the second: the queue is not empty.
  const taken = q.take(64 * 1024 + 100);
  t.equal(taken.length, 64 * 1024 + 100);
  await collect();
  t.equal(firstRef.deref(), undefined, 'the spent chunk was collected');
  t.not(secondRef.deref(), undefined, 'the chunk still being read is kept (so the test can tell)');
  t.equal(q.length, 64 * 1024 - 100);
});
