// prog's SMTP replies: one or more lines `ddd-text` ... `ddd text` (or a bare
// `ddd`). The reply is over at the first line whose fourth byte is not '-'.

export interface Reply {
  /** The first line's code (0 if it does not start with three digits). */
  code: number;
  /** Each line with its CRLF. */
  lines: Buffer[];
}

export function parseReplyLine(line: Buffer): { code: number; more: boolean } {
  const code = /^[0-9]{3}/.test(line.subarray(0, 3).toString('latin1')) ? Number(line.subarray(0, 3).toString('latin1')) : 0;
  return { code, more: line.length > 3 && line[3] === 0x2d };
}

/** The text after `ddd-`/`ddd `, without CRLF. */
function text(line: Buffer): string {
  return line.subarray(4).toString('latin1').replace(/\r?\n$/, '');
}

const isStartTls = (line: Buffer): boolean => /^STARTTLS\s*$/i.test(text(line));

/**
 * A 250 reply to EHLO as the client sees it. prog's own STARTTLS lines go
 * (the command is ours: prog never sees it). With offer, `250-STARTTLS` comes
 * right after the first line (the greeting, which names the host), so the
 * last line keeps its `250 ` form; a one-line reply becomes `250-host`,
 * `250 STARTTLS`. Any other reply (an error) passes unchanged.
 */
export function ehloReply(reply: Reply, offer: boolean): Reply {
  if (reply.code !== 250) return reply;
  const [first, ...rest] = reply.lines;
  const texts = [text(first), ...rest.filter((l) => !isStartTls(l)).map(text)];
  if (offer) texts.splice(1, 0, 'STARTTLS');
  if (!offer && texts.length === reply.lines.length) return reply;
  const lines = texts.map((t, i) => Buffer.from(`250${i === texts.length - 1 ? ' ' : '-'}${t}\r\n`, 'latin1'));
  return { code: 250, lines };
}
