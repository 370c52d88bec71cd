// tlswrapper-server <-> a spare netproc, over the IPC channel Node makes
// for a child (stdio 'ipc'). Two messages, in this order, then the channel
// closes:
//   netproc -> server: READY, once it is warmed and jailed (one descriptor
//     slot left: jail/ JailOptions.oneSlotLeft);
//   server -> netproc: CONNECTION, with the accepted socket as the handle
//     (SCM_RIGHTS); netproc then closes the slot and the channel.
// Anything else, in either direction, ends that process set.

export const HandoffMsg = {
  READY: 'tlswrapper-ready',
  CONNECTION: 'tlswrapper-connection',
} as const;
