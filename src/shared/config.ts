import { totalmem } from 'node:os';
import { ConfigError } from './errors.js';
import { defaultHome, expandHome } from './paths.js';
import {
  decimal, hostList, httpUrl, integer, LOG_FORMATS, LOG_LEVELS, logFormat, logLevel, machineTimeZone, memoryLimit,
  nonEmpty, optionalPath, timeZone, transcriptsSetting, type LogFormat, type LogLevel, type TranscriptsSetting,
} from './setting-parsers.js';

export { machineTimeZone, type LogFormat, type LogLevel, type TranscriptsSetting } from './setting-parsers.js';

/**
 * Configuration: every setting is an environment variable, overridable by a CLI flag. A bad value
 * is a start-up error that names where it came from (the variable or the flag) and what it accepts.
 */
export interface Config {
  home: string;
  host: string;
  port: number;
  repoRecallUrl: string;
  refreshIntervalSeconds: number;
  /** Largest upstream body accepted, in bytes. */
  maxPayloadBytes: number;
  /** How long to wait for upstream to connect, answer, or send the next body chunk. */
  upstreamTimeoutSeconds: number;
  /** Retries after a connection error or a 5xx, with exponential backoff and jitter. */
  upstreamRetries: number;
  /** The whole fetch of one tick (every attempt and wait) ends by then. */
  upstreamDeadlineSeconds: number;
  /** A payload that would drop more than this share of the loaded sessions is held back; 100 disables. */
  maxShrinkPercent: number;
  /** A held-back payload is accepted once the same one has arrived on this many consecutive ticks. */
  shrinkConfirmTicks: number;
  /** Extra Host/Origin names the reads server accepts besides loopback (DNS-rebinding guard). */
  allowedHosts: string[];
  /** Health is `failing` when the data is older than this many refresh intervals (src/shared/health.ts). */
  staleAfterIntervals: number;
  /** How long a client has to send a whole request (headers and body) to the reads server. */
  requestTimeoutSeconds: number;
  /** Connections the reads server holds open at once; one more is answered 503 and closed. */
  maxConnections: number;
  /** Memory cap of each MCP `query` worker process, in bytes (enforced outside DuckDB). */
  queryMemoryBytes: number;
  /**
   * DuckDB's `memory_limit`, in bytes, of each instance the daemons open: the puller's working
   * database, and each generation the reads server holds open (two during a switch). Not the
   * query workers': they have their own cap (`queryMemoryBytes`).
   */
  memoryLimitBytes: number;
  /** DuckDB's `threads` of each of those instances. */
  threads: number;
  /** The puller's event log is rotated when it would grow past this many bytes (two files are kept). */
  eventsLogBytes: number;
  /** Clients following GET /events at once; one more is answered 503. */
  maxEventSubscribers: number;
  /** Seconds between heartbeats on a quiet GET /events stream. */
  eventsHeartbeatSeconds: number;
  /** The IANA zone every calendar bucket (day, week, month, hour, weekday) is cut in. */
  timezone: string;
  /** A JSON file that overrides or extends the bundled model prices; null: the bundled table alone. */
  pricingFile: string | null;
  /**
   * Claude Code `projects` directories the puller reads transcripts from: `default` (resolved at
   * each tick from CLAUDE_CONFIG_DIR and the usual places: src/puller/transcripts/directories.ts),
   * `off`, or the directories given.
   */
  transcripts: TranscriptsSetting;
  logLevel: LogLevel;
  /** How the daemons write their log: JSON lines for machines, or one readable line per event. */
  logFormat: LogFormat;
}

/** `auto`: readable lines when standard output is a terminal, JSON lines otherwise (services). */
export interface Setting<K extends keyof Config = keyof Config> {
  key: K;
  env: string;
  /** Long flag name, without the dashes. */
  flag: string;
  /** What the value means and what it accepts, for --help and for error messages. */
  accepts: string;
  defaultText: string;
  parse: (raw: string) => Config[K];
}

const MIB = 1024 * 1024;

export const SETTINGS: { [K in keyof Config]: Setting<K> } = {
  home: {
    key: 'home',
    env: 'SESSION_LATTICE_HOME',
    flag: 'home',
    accepts: 'the data directory',
    defaultText: '~/.session-lattice',
    parse: (raw) => expandHome(nonEmpty('a directory path')(raw)),
  },
  host: {
    key: 'host',
    env: 'SESSION_LATTICE_HOST',
    flag: 'host',
    accepts: 'the address the reads server binds',
    defaultText: '127.0.0.1',
    parse: nonEmpty('a host name or IP address'),
  },
  port: {
    key: 'port',
    env: 'SESSION_LATTICE_PORT',
    flag: 'port',
    accepts: 'the reads server port (0 picks a free one)',
    defaultText: '7778',
    parse: integer(0, 65535),
  },
  repoRecallUrl: {
    key: 'repoRecallUrl',
    env: 'SESSION_LATTICE_REPO_RECALL_URL',
    flag: 'repo-recall-url',
    accepts: 'the repo-recall base URL',
    defaultText: 'http://127.0.0.1:7777',
    parse: httpUrl,
  },
  refreshIntervalSeconds: {
    key: 'refreshIntervalSeconds',
    env: 'SESSION_LATTICE_REFRESH_INTERVAL_SECONDS',
    flag: 'refresh-interval-seconds',
    accepts: 'seconds between pulls',
    defaultText: '60',
    parse: decimal(0.1, 86400),
  },
  maxPayloadBytes: {
    key: 'maxPayloadBytes',
    env: 'SESSION_LATTICE_MAX_PAYLOAD_MB',
    flag: 'max-payload-mb',
    accepts: 'the largest upstream payload accepted, in MiB',
    defaultText: '2048',
    parse: (raw) => Math.round(decimal(0.001, 1024 * 1024)(raw) * MIB),
  },
  upstreamTimeoutSeconds: {
    key: 'upstreamTimeoutSeconds',
    env: 'SESSION_LATTICE_UPSTREAM_TIMEOUT_SECONDS',
    flag: 'upstream-timeout-seconds',
    accepts: 'seconds to wait for upstream to connect, answer, or send more of the body',
    defaultText: '60',
    parse: decimal(0.1, 3600),
  },
  upstreamRetries: {
    key: 'upstreamRetries',
    env: 'SESSION_LATTICE_UPSTREAM_RETRIES',
    flag: 'upstream-retries',
    accepts: 'retries after a connection error, a 5xx or a 429',
    defaultText: '3',
    parse: integer(0, 20),
  },
  upstreamDeadlineSeconds: {
    key: 'upstreamDeadlineSeconds',
    env: 'SESSION_LATTICE_UPSTREAM_DEADLINE_SECONDS',
    flag: 'upstream-deadline-seconds',
    accepts: 'seconds one pull may spend on upstream in all, retries and waits included',
    defaultText: '600',
    parse: decimal(0.1, 86400),
  },
  maxShrinkPercent: {
    key: 'maxShrinkPercent',
    env: 'SESSION_LATTICE_MAX_SHRINK_PERCENT',
    flag: 'max-shrink-percent',
    accepts: 'the largest share of the loaded sessions a payload may drop before it is held back (100: never held)',
    defaultText: '50',
    parse: decimal(0, 100),
  },
  shrinkConfirmTicks: {
    key: 'shrinkConfirmTicks',
    env: 'SESSION_LATTICE_SHRINK_CONFIRM_TICKS',
    flag: 'shrink-confirm-ticks',
    accepts: 'consecutive ticks a held-back payload must repeat on before it is published',
    defaultText: '3',
    parse: integer(1, 1000),
  },
  allowedHosts: {
    key: 'allowedHosts',
    env: 'SESSION_LATTICE_ALLOWED_HOSTS',
    flag: 'allowed-hosts',
    accepts: 'extra Host/Origin names the reads server accepts besides loopback',
    defaultText: '(none)',
    parse: hostList,
  },
  staleAfterIntervals: {
    key: 'staleAfterIntervals',
    env: 'SESSION_LATTICE_STALE_AFTER_INTERVALS',
    flag: 'stale-after-intervals',
    accepts: 'refresh intervals after which the data counts as stale and health is failing',
    defaultText: '3',
    parse: decimal(1, 10000),
  },
  requestTimeoutSeconds: {
    key: 'requestTimeoutSeconds',
    env: 'SESSION_LATTICE_REQUEST_TIMEOUT_SECONDS',
    flag: 'request-timeout-seconds',
    accepts: 'seconds a client has to send a whole request (headers and body) to the reads server before it is answered 408 and disconnected',
    defaultText: '30',
    parse: decimal(1, 3600),
  },
  maxConnections: {
    key: 'maxConnections',
    env: 'SESSION_LATTICE_MAX_CONNECTIONS',
    flag: 'max-connections',
    accepts: 'connections the reads server holds open at once; one more is answered 503 and closed',
    defaultText: '512',
    parse: integer(1, 100000),
  },
  queryMemoryBytes: {
    key: 'queryMemoryBytes',
    env: 'SESSION_LATTICE_QUERY_MEMORY_MB',
    flag: 'query-memory-mb',
    accepts: 'the memory cap of each MCP query worker process, in MiB (a query past it is stopped)',
    defaultText: '1024',
    parse: (raw) => integer(128, 65536)(raw) * MIB,
  },
  memoryLimitBytes: {
    key: 'memoryLimitBytes',
    env: 'SESSION_LATTICE_MEMORY_LIMIT',
    flag: 'memory-limit',
    accepts:
      "DuckDB's memory_limit for each DuckDB instance of the daemons (the puller's working database; each generation the reads server has open): a size like 512MB or 2GB, or a share of the machine's memory like 10%",
    defaultText: '2GB',
    parse: memoryLimit(64 * MIB, totalmem()),
  },
  threads: {
    key: 'threads',
    env: 'SESSION_LATTICE_THREADS',
    flag: 'threads',
    accepts: "DuckDB's threads for each DuckDB instance of the daemons",
    defaultText: '2',
    parse: integer(1, 256),
  },
  eventsLogBytes: {
    key: 'eventsLogBytes',
    env: 'SESSION_LATTICE_EVENTS_LOG_KB',
    flag: 'events-log-kb',
    accepts: "the size in KiB at which the puller's event log (puller/events.jsonl) is rotated; the log and one rotated file are kept",
    defaultText: '1024',
    parse: (raw) => integer(1, 1024 * 1024)(raw) * 1024,
  },
  maxEventSubscribers: {
    key: 'maxEventSubscribers',
    env: 'SESSION_LATTICE_MAX_EVENT_SUBSCRIBERS',
    flag: 'max-event-subscribers',
    accepts: 'clients that may follow GET /events at once; one more is answered 503',
    defaultText: '64',
    parse: integer(1, 10000),
  },
  eventsHeartbeatSeconds: {
    key: 'eventsHeartbeatSeconds',
    env: 'SESSION_LATTICE_EVENTS_HEARTBEAT_SECONDS',
    flag: 'events-heartbeat-seconds',
    accepts: 'seconds between heartbeats on a quiet GET /events stream',
    defaultText: '15',
    parse: decimal(0.1, 3600),
  },
  timezone: {
    key: 'timezone',
    env: 'SESSION_LATTICE_TIMEZONE',
    flag: 'timezone',
    accepts: 'the IANA time zone days, weeks, months and hours are counted in',
    defaultText: "(the machine's zone)",
    parse: timeZone,
  },
  pricingFile: {
    key: 'pricingFile',
    env: 'SESSION_LATTICE_PRICING_FILE',
    flag: 'pricing-file',
    accepts: 'a JSON file of model prices that overrides or extends the bundled table (format: data/model-prices.json)',
    defaultText: '(none)',
    parse: optionalPath,
  },
  transcripts: {
    key: 'transcripts',
    env: 'SESSION_LATTICE_TRANSCRIPTS',
    flag: 'transcripts',
    accepts: "the Claude Code projects directories whose transcripts (*.jsonl, recursively) give per-response usage: a comma-separated list, or off",
    defaultText: "(each CLAUDE_CONFIG_DIR entry's projects/, else ~/.config/claude/projects and ~/.claude/projects, those that exist)",
    parse: transcriptsSetting,
  },
  logLevel: {
    key: 'logLevel',
    env: 'SESSION_LATTICE_LOG_LEVEL',
    flag: 'log-level',
    accepts: `log level (${LOG_LEVELS.join(', ')})`,
    defaultText: 'info',
    parse: logLevel,
  },
  logFormat: {
    key: 'logFormat',
    env: 'SESSION_LATTICE_LOG_FORMAT',
    flag: 'log-format',
    accepts: `how the daemons log (${LOG_FORMATS.join(', ')}; auto: readable lines in a terminal, JSON lines otherwise)`,
    defaultText: 'auto',
    parse: logFormat,
  },
};

export const DEFAULTS: Config = {
  home: defaultHome(),
  host: '127.0.0.1',
  port: 7778,
  repoRecallUrl: 'http://127.0.0.1:7777',
  refreshIntervalSeconds: 60,
  maxPayloadBytes: 2048 * MIB,
  upstreamTimeoutSeconds: 60,
  upstreamRetries: 3,
  upstreamDeadlineSeconds: 600,
  maxShrinkPercent: 50,
  shrinkConfirmTicks: 3,
  allowedHosts: [],
  staleAfterIntervals: 3,
  requestTimeoutSeconds: 30,
  maxConnections: 512,
  queryMemoryBytes: 1024 * MIB,
  // DuckDB's own defaults are 80% of RAM and every core. 2 threads leave a laptop's other cores
  // alone; 2GB is what a 1M-session pull needs with them (docs/benchmarks.md, "Scale"; the JSON
  // reader of the load claims 512 MiB buffers, at least one per thread; 1.5GB failed at 300k), and
  // it is a cap, not a reservation: see README.md, "Memory and threads".
  memoryLimitBytes: 2e9,
  threads: 2,
  eventsLogBytes: 1024 * 1024,
  maxEventSubscribers: 64,
  eventsHeartbeatSeconds: 15,
  timezone: machineTimeZone(),
  pricingFile: null,
  transcripts: 'default',
  logLevel: 'info',
  logFormat: 'auto',
};

/** Flag values as commander hands them over: raw strings keyed by camel-cased flag name. */
export type FlagValues = Partial<Record<string, string | undefined>>;

/** `VARIABLE (--flag)` of a setting, for the advice in a message. */
export function settingName(key: keyof Config): string {
  const s = SETTINGS[key];
  return `${s.env} (--${s.flag})`;
}

export function flagKey(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Resolves the configuration: a flag wins over its environment variable, which wins over the
 * default. Only `keys` are read (a daemon is not refused for a variable it does not use); the rest
 * keep their defaults. Throws ConfigError naming the first bad source.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv,
  flags: FlagValues = {},
  keys: readonly (keyof Config)[] = Object.keys(SETTINGS) as (keyof Config)[],
): Config {
  const config: Config = { ...DEFAULTS, allowedHosts: [...DEFAULTS.allowedHosts] };
  for (const setting of keys.map((k) => SETTINGS[k]) as Setting[]) {
    const fromFlag = flags[flagKey(setting.flag)];
    const fromEnv = env[setting.env];
    const [raw, source] =
      fromFlag !== undefined ? [fromFlag, `--${setting.flag}`] : fromEnv !== undefined ? [fromEnv, setting.env] : [];
    if (raw === undefined || source === undefined) continue;
    try {
      (config as unknown as Record<string, unknown>)[setting.key] = setting.parse(raw);
    } catch (err) {
      const accepts = err instanceof Error ? err.message : String(err);
      throw new ConfigError(`${source}=${JSON.stringify(raw)} is not valid: ${setting.accepts}; expected ${accepts}`);
    }
  }
  return config;
}
