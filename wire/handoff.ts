// tlswrapper-server <-> a spare netproc, over the IPC channel Node makes
// for a child (stdio 'ipc'). Two messages, in this order, then the channel
// closes:
//   netproc -> server: READY, once it is warmed and jailed (one descriptor
//     slot left: jail/ JailOptions.oneSlotLeft);
//   server -> netproc: CONNECTION, with the accepted socket as the handle
//     (SCM_RIGHTS) and when it was accepted (-T counts from then); netproc
//     then closes the slot and the channel.
// Anything else, in either direction, ends that process set.

export const HandoffMsg = {
  READY: 'tlswrapper-ready',
  CONNECTION: 'tlswrapper-connection',
} as const;

export interface ConnectionMessage {
  type: typeof HandoffMsg.CONNECTION;
  /** When the server accepted the connection, ms since the epoch. */
  began: number;
}

export function connectionMessage(began: number): ConnectionMessage {
  return { type: HandoffMsg.CONNECTION, began };
}

/** A CONNECTION message as the server sends it, or null for anything else. */
export function decodeConnectionMessage(m: unknown): ConnectionMessage | null {
  if (typeof m !== 'object' || m === null) return null;
  const { type, began } = m as Partial<ConnectionMessage>;
  if (type !== HandoffMsg.CONNECTION || typeof began !== 'number' || !Number.isFinite(began)) return null;
  return { type, began };
}
