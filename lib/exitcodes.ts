// Exit codes, as tlswrapper's: 100 for a usage or configuration error, 111 for
// a system error or a connection that never got as far as running prog;
// otherwise prog's own exit status. keyproc and netproc use the same codes
// (100 there: the peer broke the protocol, a misuse like a usage error).
export const EXIT_OK = 0;
export const EXIT_USAGE = 100;
export const EXIT_FAILURE = 111;
