// Delayed encryption: which descriptors carry it, for the entry (who wires
// them), netproc (who serves them) and prog (who gets the other ends).
//
// -n (tlswrapper's protocol): prog writes on fd 5, reads fd 6.
//   prog -> 5: 0x00 "start TLS" (0x01: start TLS and send me the facts) after
//   its last plaintext reply; netproc answers 0x00 on 6, then, for 0x01, the
//   facts once the handshake is done, and closes 6. Any other first byte is
//   Debian's older protocol: the bytes up to EOF on 5 are the final plaintext
//   reply, sent before TLS starts. EOF on 5 before any byte: stay plaintext.
// --ucspi-tls (s6-ucspitlsd, sslserver -n): prog has SSLCTLFD=5 (both ways),
//   SSLREADFD=6, SSLWRITEFD=7. 'y' on 5: start TLS; 'Y': and send the facts
//   on 5 once the handshake is done. After it, TLS data goes over 6 and 7,
//   and fds 0/1 end. EOF on 5 before a command: TLS declined.
/** Delayed encryption: none, -n (tlswrapper's protocol) or --ucspi-tls. */
export type StartTls = 'no' | 'n' | 'ucspi';

export interface StartTlsFds {
  /** netproc's descriptors, in the order prog gets their other ends (from fd 5 up). */
  netproc: number[];
  /** Environment prog gets with them. */
  env: Record<string, string>;
}

/** prog's first control descriptor: -n's control pipe (prog writes its command here), --ucspi-tls's SSLCTLFD. */
export const PROG_CONTROL_FD = 5;
/** -n: prog's end of the acknowledgement pipe: the ack (and the facts) come here. */
export const PROG_ACK_FD = PROG_CONTROL_FD + 1;

export const START_TLS_FDS: Record<StartTls, StartTlsFds> = {
  no: { netproc: [], env: {} },
  n: { netproc: [8, 9], env: {} },
  // The environment names prog's descriptors: from PROG_CONTROL_FD up, in netproc's order.
  ucspi: { netproc: [8, 9, 10], env: { SSLCTLFD: `${PROG_CONTROL_FD}`, SSLREADFD: `${PROG_CONTROL_FD + 1}`, SSLWRITEFD: `${PROG_CONTROL_FD + 2}` } },
};

/** The control commands, by first byte. */
export const StartTlsCommand = {
  /** -n: start TLS. */
  start: 0x00,
  /** -n: start TLS, then send the facts (ours). */
  startWithFacts: 0x01,
  /** --ucspi-tls. */
  ucspiStart: 0x79, // 'y'
  ucspiStartWithFacts: 0x59, // 'Y'
} as const;
