// tlswrapper's algorithm names (-c, -e, -m, -M) to wire codes. Unknown names
// and sets that leave nothing usable are usage errors (exit 100).
import type { EngineConfig } from '../netproc/tls/api';
import { groupByOptionName, NAMED_GROUPS, suiteByOptionName } from '../netproc/tls/tables';
import { UsageError, type Options } from './options';

const VERSIONS: Record<string, number> = { tls10: 0x0301, tls11: 0x0302, tls12: 0x0303, tls13: 0x0304 };

/** tlswrapper's names for suites that exist only in TLS 1.2 (not served yet). */
const SUITES12_ONLY = new Set(['AES_256_CBC_SHA384', 'AES_128_CBC_SHA256', 'AES_256_CBC_SHA', 'AES_128_CBC_SHA']);


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
    const code = suiteByOptionName(name)?.code;
    if (code === undefined && !SUITES12_ONLY.has(name)) throw new UsageError(`unknown cipher '${name}' (-c)`);
    if (code !== undefined && !suites.includes(code)) suites.push(code);
  }
  if (suites.length === 0) throw new UsageError('no TLS 1.3 cipher left: -c names only TLS 1.2 ciphers');

  const wanted = o.groups.map((name) => {
    const group = groupByOptionName(name);
    if (!group) throw new UsageError(`unknown ephemeral algorithm '${name}' (-e)`);
    return group.code;
  });
  // tlswrapper's fixed preference order, whatever the -e order.
  const groups = NAMED_GROUPS.map((g) => g.code).filter((code) => wanted.includes(code));

  return { suites, groups, serverPreference: o.serverPreference, minVersion, maxVersion };
}
