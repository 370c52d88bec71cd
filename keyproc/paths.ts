// Candidate PEM file paths, built by keyproc itself from the configured
// sources and the validated SNI name (netproc never sends a path).

export interface CertSource {
  kind: 'file' | 'dir';
  path: string;
}

export interface Candidate {
  source: CertSource;
  path: string;
  /**
   * Only for 'dir' sources (our addition, not in the C tlswrapper): certbot's
   * layout, used when `path` turns out to be a directory. Both are
   * fixPath(dir + '/' + name + '/privkey.pem') and the same for
   * 'fullchain.pem', built here like `path` itself.
   */
  certbot?: { key: string; chain: string };
}

/** certbot's file names in its live/NAME/ directory. */
export const CERTBOT_KEY = 'privkey.pem';
export const CERTBOT_CHAIN = 'fullchain.pem';

/**
 * tlswrapper's fixpath rule: after a '/', a '.' becomes ':' (so no path
 * component can start with a dot: no '..', no hidden files), and repeated '/'
 * collapse to one (so '//.' cannot slip a dot past the rule).
 */
export function fixPath(p: string): string {
  let out = '';
  for (const ch of p) {
    const prev = out.length ? out[out.length - 1] : '';
    if (prev === '/' && ch === '/') continue;
    out += prev === '/' && ch === '.' ? ':' : ch;
  }
  return out;
}

/**
 * For each source, in order: 'file' gives its path as configured (the SNI name
 * plays no part); 'dir' gives fixPath(dir + '/' + name), only when there is a
 * name, with certbot's two paths beside it (see readCandidate() for which is
 * used). `name` must come from validateServerName().
 */
export function candidatePaths(sources: readonly CertSource[], name: string): Candidate[] {
  const out: Candidate[] = [];
  for (const source of sources) {
    if (source.kind === 'file') out.push({ source, path: source.path });
    else if (name !== '') {
      if (name.includes('/') || name.includes('\0')) throw new Error('server name with / or NUL reached candidatePaths');
      out.push({
        source,
        path: fixPath(`${source.path}/${name}`),
        certbot: {
          key: fixPath(`${source.path}/${name}/${CERTBOT_KEY}`),
          chain: fixPath(`${source.path}/${name}/${CERTBOT_CHAIN}`),
        },
      });
    }
  }
  return out;
}
