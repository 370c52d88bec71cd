// tlswrapper's algorithm names (-c, -e, -m, -M) to wire codes. Unknown names
// and sets that leave nothing usable are usage errors (exit 100).
import type { EngineConfig } from '../tls/api';
import {
  CIPHER_SUITES,
  CIPHER_SUITES_12,
  groupByOptionName,
  NAMED_GROUPS,
  PROTOCOL_VERSIONS,
  ProtocolVersion,
  suiteByOptionName,
  suites12ByOptionName,
  versionByOptionName,
} from '../tls/registry';
import { UsageError, type Options } from './options';

const TLS12 = ProtocolVersion.tls12;
const TLS13 = ProtocolVersion.tls13;

/** The -m/-M names, oldest first, for the usage message. */
const VERSION_NAMES = [...PROTOCOL_VERSIONS].sort((a, b) => a.code - b.code).map((v) => v.optionName);

/** -c's names: the TLS 1.3 suites', then the TLS 1.2 and older ones' (several suites may share a name). */
const CIPHER_NAMES = [...new Set([...CIPHER_SUITES.map((c) => c.optionName), ...CIPHER_SUITES_12.map((c) => c.optionName)])];

function version(name: string, option: string): number {
  const code = versionByOptionName(name)?.code;
  if (code === undefined) throw new UsageError(`unknown TLS version '${name}' (-${option}), known: ${VERSION_NAMES.join(', ')}`);
  return code;
}

/** -c names, in order, to TLS 1.3 and TLS 1.2 suite codes. */
function suites(names: string[]): { suites: number[]; suites12: number[] } {
  const out = { suites: [] as number[], suites12: [] as number[] };
  for (const name of names) {
    const s13 = suiteByOptionName(name)?.code;
    const s12 = suites12ByOptionName(name);
    if (s13 === undefined && s12.length === 0) throw new UsageError(`unknown cipher '${name}' (-c), known: ${CIPHER_NAMES.join(', ')}`);
    if (s13 !== undefined && !out.suites.includes(s13)) out.suites.push(s13);
    for (const code of s12) if (!out.suites12.includes(code)) out.suites12.push(code);
  }
  return out;
}

export function engineConfig(o: Options): EngineConfig {
  let minVersion = version(o.minVersion, 'm');
  let maxVersion = version(o.maxVersion, 'M');
  if (minVersion > maxVersion) throw new UsageError(`-m ${o.minVersion} is above -M ${o.maxVersion}`);

  // A cipher list with no suite for a version takes that version out.
  const chosen = suites(o.ciphers);
  if (chosen.suites.length === 0) maxVersion = Math.min(maxVersion, TLS12);
  if (chosen.suites12.length === 0) minVersion = Math.max(minVersion, TLS13);
  if (minVersion > maxVersion) throw new UsageError(`no cipher left for -m ${o.minVersion} -M ${o.maxVersion} (-c)`);

  const wanted = o.groups.map((name) => {
    const group = groupByOptionName(name);
    if (!group) throw new UsageError(`unknown ephemeral algorithm '${name}' (-e), known: ${NAMED_GROUPS.map((g) => g.name.toLowerCase()).join(', ')}`);
    return group.code;
  });
  // tlswrapper's fixed preference order, whatever the -e order.
  const groups = NAMED_GROUPS.map((g) => g.code).filter((code) => wanted.includes(code));

  return {
    suites: chosen.suites,
    suites12: minVersion <= TLS12 ? chosen.suites12 : [],  // none: the engine refuses TLS 1.2
    groups,
    serverPreference: o.serverPreference,
    minVersion,
    maxVersion,
  };
}
