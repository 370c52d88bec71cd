// Exit codes, as tlswrapper's: 100 for a usage or configuration error, 111 for
// a system error or a connection that never got as far as running prog;
// otherwise prog's own exit status.
export const EXIT_USAGE = 100;
export const EXIT_FAILURE = 111;
