import { readlinkSync } from 'node:fs';

/**
 * Time zone names as the user wrote them. Node 20's ICU "canonicalizes" a zone to its oldest
 * alias (`Asia/Kolkata` -> `Asia/Calcutta`, `Europe/Kyiv` -> `Europe/Kiev`), so a name taken from
 * `resolvedOptions()` is not the one the user gave, and every surface that shows the zone
 * (freshness, /healthz, `status`, the page) would show a name they never typed. Intl still decides
 * whether a name is valid; only its spelling is kept.
 */

/** The zone Intl resolves `name` to, or null when Intl does not know it. */
function resolved(name: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/**
 * `raw` in the spelling to keep, or null when it is not a zone Intl knows. A name that differs from
 * Intl's only in case gets Intl's case (`america/new_york` -> `America/New_York`); an alias keeps
 * the user's name (`Asia/Kolkata`, `US/Pacific`), in the case of Intl's list of zones when the name
 * is on it.
 */
export function userZoneName(raw: string): string | null {
  const name = raw.trim();
  const canonical = resolved(name);
  if (canonical === null) return null;
  if (canonical.toLowerCase() === name.toLowerCase()) return canonical;
  const lower = name.toLowerCase();
  return Intl.supportedValuesOf('timeZone').find((z) => z.toLowerCase() === lower) ?? name;
}

/**
 * The machine's zone under the name it was configured with: `TZ` when set, else the zoneinfo path
 * `/etc/localtime` links to (Linux and macOS), when either names the zone Intl runs in; otherwise
 * Intl's own name.
 */
export function machineZoneName(env: NodeJS.ProcessEnv = process.env): string {
  const running = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  for (const candidate of [env.TZ?.replace(/^:/, ''), localtimeLinkZone()]) {
    if (!candidate) continue;
    const kept = userZoneName(candidate);
    if (kept !== null && resolved(kept) === running) return kept;
  }
  return running;
}

function localtimeLinkZone(): string | undefined {
  try {
    const target = readlinkSync('/etc/localtime');
    const at = target.lastIndexOf('zoneinfo/');
    return at < 0 ? undefined : target.slice(at + 'zoneinfo/'.length);
  } catch {
    return undefined;
  }
}
