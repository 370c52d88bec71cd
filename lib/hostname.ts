// Validation of the SNI host name netproc forwards. netproc is untrusted, so
// this is the gate between network bytes and a file name we open as root.
//
// Rules (the name arrives as latin1: one char per byte, a NUL stays a NUL):
// - '' means "no SNI" and is valid.
// - A single trailing '.' (absolute form "example.com.") is stripped: RFC 6066
//   says clients send the name without it, but it names the same host and
//   keeping it would give a file name with a trailing dot. Only one is stripped.
// - After that: 1..253 bytes, labels separated by '.', each 1..63 bytes of
//   [A-Za-z0-9_-]. No empty labels, so no leading dot, no '..', and never a
//   '.' right after a '/' (there is no '/'), so the fixpath rule never has to
//   act on the name.
// - '_' is accepted: it is not legal in host names (RFC 952/1123) but occurs in
//   real DNS names, and it is inert in a path (not '/', '.', NUL or a wildcard),
//   so allowing it costs nothing.
// - The result is lowercased: DNS names are case-insensitive, and the
//   directory holds one file per lowercase name.

export type NameResult = { ok: true; name: string } | { ok: false; reason: string };

const LABEL = /^[A-Za-z0-9_-]{1,63}$/;
export const MAX_NAME = 253;

export function validateServerName(raw: string): NameResult {
  if (typeof raw !== 'string') return { ok: false, reason: 'not a string' };
  if (raw === '') return { ok: true, name: '' };
  let name = raw;
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') return { ok: false, reason: 'empty name' };
  if (name.length > MAX_NAME) return { ok: false, reason: `name of ${name.length} bytes over ${MAX_NAME}` };
  const labels = name.split('.');
  for (const label of labels) {
    if (label === '') return { ok: false, reason: 'empty label' };
    if (label.length > 63) return { ok: false, reason: `label of ${label.length} bytes over 63` };
    if (!LABEL.test(label)) return { ok: false, reason: 'character outside [A-Za-z0-9_-.]' };
  }
  return { ok: true, name: name.toLowerCase() };
}
