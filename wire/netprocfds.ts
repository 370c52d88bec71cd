// netproc's descriptors, one table for the entry that wires them
// (src/connection.ts) and netproc that wraps them before its jail
// (netproc/fds.ts). Delayed encryption's come after these
// (wire/starttls.ts START_TLS_FDS).
export const NetprocFd = {
  /** The client, read side (under a super-server; a spare set gets it later). */
  netIn: 0,
  /** The client, write side (often the same socket as fd 0). */
  netOut: 1,
  /** Log lines, relayed by the entry. */
  log: 2,
  /** To and from the entry: the configuration first (netproc/intake.ts). */
  ctl: 3,
  /** RPC to keyproc (keyproc's fd 0). */
  toKey: 4,
  /** RPC from keyproc (keyproc's fd 1). */
  fromKey: 5,
  /** prog's stdin. */
  progIn: 6,
  /** prog's stdout. */
  progOut: 7,
} as const;
