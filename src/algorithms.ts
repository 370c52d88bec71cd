// tlswrapper's algorithm names (-c, -e, -m, -M) to wire codes. Unknown names
// and sets that leave nothing usable are usage errors (exit 100).
import type { EngineConfig } from '../netproc/tls/api';
import { UsageError, type Options } from './options';

const VERSIONS: Record<string, number> = { tls10: 0x0301, tls11: 0x0302, tls12: 0x0303, tls13: 0x0304 };

/** TLS 1.3 suites by tlswrapper's names; the CBC names exist only in TLS 1.2. */
const SUITES13: Record<string, number> = {
  CHACHA20_POLY1305_SHA256: 0x1303,
  AES_256_GCM_SHA384: 0x1302,
  AES_128_GCM_SHA256: 0x1301,
};
const SUITES12_ONLY = new Set(['AES_256_CBC_SHA384', 'AES_128_CBC_SHA256', 'AES_256_CBC_SHA', 'AES_128_CBC_SHA']);

/** Groups in tlswrapper's fixed preference order (the -e order does not matter). */
const GROUPS: Record<string, number> = { x25519: 0x001d, secp256r1: 0x0017, secp384r1: 0x0018, secp521r1: 0x0019 };

function version(name: string, option: string): number {
  const code = VERSIONS[name];
  if (code === undefined) throw new UsageError(`unknown TLS version '${name}' (-${option}), known: ${Object.keys(VERSIONS).join(', ')}`);
  return code;
}

export function engineConfig(o: Options): EngineConfig {
  const minVersion = version(o.minVersion, 'm');
  const maxVersion = version(o.maxVersion, 'M');
  if (minVersion > maxVersion) throw new UsageError(`-m ${o.minVersion} is above -M ${o.maxVersion}`);
  if (maxVersion < VERSIONS.tls13) throw new UsageError(`-M ${o.maxVersion}: TLS versions below tls13 are not supported yet`);

  const suites: number[] = [];
  for (const name of o.ciphers) {
    const code = SUITES13[name];
    if (code === undefined && !SUITES12_ONLY.has(name)) throw new UsageError(`unknown cipher '${name}' (-c)`);
    if (code !== undefined && !suites.includes(code)) suites.push(code);
  }
  if (suites.length === 0) throw new UsageError('no TLS 1.3 cipher left: -c names only TLS 1.2 ciphers');

  for (const name of o.groups) {
    if (GROUPS[name] === undefined) throw new UsageError(`unknown ephemeral algorithm '${name}' (-e)`);
  }
  const groups = Object.entries(GROUPS)
    .filter(([name]) => o.groups.includes(name))
    .map(([, code]) => code);

  return { suites, groups, serverPreference: o.serverPreference, minVersion, maxVersion };
}
