// A spare netproc of tlswrapper-server: started, warmed and jailed before
// any client exists, it tells the server it is ready over the IPC channel
// Node gave it and waits there for its one connection's socket
// (wire/handoff.ts). The jail
// leaves exactly one descriptor slot for that socket (jail/ JailOptions);
// once it is in, the slot goes too and the channel is closed, so the process
// is then the same as a netproc started by a super-server.
import { Socket } from 'node:net';
import { closeLastSlot } from '../jail/jail';
import { decodeConnectionMessage, HandoffMsg } from '../wire/handoff';
import type { NetprocFds } from './fds';

/** Resolves with the connection and when it was accepted; rejects if the server went away or sent anything else. */
export function receiveConnection(): Promise<Pick<NetprocFds, 'netIn' | 'netOut'> & { began: number }> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('no IPC channel to receive the connection on'));
    process.once('disconnect', () => reject(new Error('the server went away before handing over a connection')));
    process.once('message', (message: unknown, handle: unknown) => {
      const connection = decodeConnectionMessage(message);
      if (!connection || !(handle instanceof Socket)) return reject(new Error('the server sent something other than a connection'));
      closeLastSlot();
      process.removeAllListeners('disconnect');
      process.disconnect();
      // The data path ends each direction on purpose (as with fds 0/1).
      handle.allowHalfOpen = true;
      handle.pause();
      resolve({ netIn: handle, netOut: handle, began: connection.began });
    });
    process.send(HandoffMsg.READY);
  });
}
