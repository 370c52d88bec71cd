// -f and -d checked when we start, as tlswrapper does: a path that is not
// there, or not the kind of file it should be, is a configuration error
// (exit 100, one fatal line) before any process starts, not an
// unrecognized_name for every client. Only stat(2): the files are read by
// keyproc alone, per connection, so a renewed certificate is picked up.
import { statSync } from 'node:fs';
import type { CertSource } from '../keyproc/paths';
import { systemErrorText } from '../lib/errno';

const WHAT = { file: 'certfile', dir: 'certdir' } as const;

/** The first problem with the -f/-d paths, as one log line, or null. */
export function certSourceProblem(sources: readonly CertSource[]): string | null {
  for (const source of sources) {
    const what = WHAT[source.kind];
    let st;
    try {
      st = statSync(source.path);
    } catch (e) {
      return `unable to stat ${what} '${source.path}' (${systemErrorText(e)})`;
    }
    if (source.kind === 'file' && !st.isFile()) return `unable to add ${what} '${source.path}' (not a regular file)`;
    if (source.kind === 'dir' && !st.isDirectory()) return `unable to add ${what} '${source.path}' (not a directory)`;
  }
  return null;
}
