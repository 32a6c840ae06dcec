import { expandHome } from './paths.js';
import { machineZoneName, userZoneName } from './zone-names.js';
import { formatBytes } from './format-bytes.js';

/**
 * The value parsers of the settings table (config.ts): each turns a raw variable or flag value into
 * a setting's value, or throws an Error whose message says what the setting accepts (config.ts
 * puts the setting's name in front of it).
 */

export type LogFormat = 'auto' | 'json' | 'text';
export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'json', 'text'];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function integer(min: number, max: number) {
  return (raw: string): number => {
    if (!/^\s*-?\d+\s*$/.test(raw)) throw new Error(`an integer from ${min} to ${max}`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`an integer from ${min} to ${max}`);
    return n;
  };
}

export function decimal(min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new Error(`a number from ${min} to ${max}`);
    }
    return n;
  };
}

export function httpUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('an http:// or https:// URL, like http://127.0.0.1:7777');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error('an http:// or https:// URL, like http://127.0.0.1:7777');
  }
  return url.toString().replace(/\/+$/, '');
}

export function nonEmpty(what: string) {
  return (raw: string): string => {
    if (raw.trim() === '') throw new Error(what);
    return raw.trim();
  };
}

export function hostList(raw: string): string[] {
  const hosts = raw
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  for (const h of hosts) {
    if (!/^[a-z0-9.\-[\]:]+$/.test(h)) throw new Error('a comma-separated list of host names');
  }
  return hosts;
}

export function logLevel(raw: string): LogLevel {
  const level = raw.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`one of ${LOG_LEVELS.join(', ')}`);
  return level as LogLevel;
}

export function logFormat(raw: string): LogFormat {
  const format = raw.trim().toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new Error(`one of ${LOG_FORMATS.join(', ')}`);
  return format as LogFormat;
}

/** The zone this machine runs in (what a Homebrew user means by "today"), under the name it was configured with (zone-names.ts). */
export function machineTimeZone(): string {
  return machineZoneName();
}

const ZONE_EXAMPLE = "an IANA time zone name, like America/Los_Angeles, Europe/Berlin or UTC (empty: the machine's zone)";

/** An IANA zone name, validated by Intl, in the user's spelling (`Asia/Kolkata` stays; `america/new_york` -> `America/New_York`). */
export function timeZone(raw: string): string {
  if (raw.trim() === '') return machineTimeZone();
  const name = userZoneName(raw);
  if (name === null) throw new Error(ZONE_EXAMPLE);
  return name;
}

/**
 * Where the transcripts source reads: `default` (each CLAUDE_CONFIG_DIR entry's projects/, else the
 * usual places that exist: src/puller/transcripts/directories.ts), `off`, or the directories given.
 */
export type TranscriptsSetting = 'default' | 'off' | string[];

const TRANSCRIPTS_EXAMPLE =
  "a comma-separated list of Claude Code projects directories, like ~/.claude/projects, or off (empty: each CLAUDE_CONFIG_DIR entry's projects/, else ~/.config/claude/projects and ~/.claude/projects)";

export function transcriptsSetting(raw: string): TranscriptsSetting {
  const text = raw.trim();
  if (text === '') return 'default';
  if (text.toLowerCase() === 'off') return 'off';
  const entries = text.split(',').map((e) => e.trim());
  // `off` among paths, or a path of NUL bytes, is a typo rather than a directory.
  if (entries.some((e) => e.toLowerCase() === 'off' || e.includes('\0'))) throw new Error(TRANSCRIPTS_EXAMPLE);
  const dirs = [...new Set(entries.filter((e) => e !== '').map((e) => expandHome(e)))];
  if (dirs.length === 0) throw new Error(TRANSCRIPTS_EXAMPLE);
  return dirs;
}

export function optionalPath(raw: string): string | null {
  return raw.trim() === '' ? null : expandHome(raw.trim());
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

const MEMORY_EXAMPLE =
  "a size like 512MB, 1GB or 1.5GiB (KB, MB, GB, TB: powers of 1000; KiB, MiB, GiB, TiB: of 1024), or a share of this machine's memory like 10%";

/**
 * A DuckDB `memory_limit`, in bytes: DuckDB's own size syntax (`512MB`, `1GB`, `1.5GiB`; GB is
 * 1000^3 as in DuckDB) or a percentage of the machine's physical memory (`10%`), from `min` bytes
 * to the machine's memory.
 */
export function memoryLimit(min: number, totalBytes: number) {
  return (raw: string): number => {
    const text = raw.trim().toLowerCase().replace(/\s+/g, '');
    let bytes: number;
    const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
    const size = /^(\d+(?:\.\d+)?)([kmgt]i?b|b)$/.exec(text);
    if (percent) {
      const share = Number(percent[1]);
      if (share <= 0 || share > 100) throw new Error(MEMORY_EXAMPLE);
      bytes = Math.floor((totalBytes * share) / 100);
    } else if (size) {
      bytes = Math.floor(Number(size[1]) * SIZE_UNITS[size[2]!]!);
    } else {
      throw new Error(MEMORY_EXAMPLE);
    }
    if (bytes < min) throw new Error(`${MEMORY_EXAMPLE}, of at least ${formatBytes(min)}`);
    if (bytes > totalBytes) throw new Error(`${MEMORY_EXAMPLE}, of at most this machine's memory (${formatBytes(totalBytes)})`);
    return bytes;
  };
}
