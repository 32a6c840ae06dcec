import { totalmem } from 'node:os';
import { defaultHome, expandHome } from '../paths.js';
import {
  decimal,
  hostList,
  httpUrl,
  integer,
  LOG_FORMATS,
  LOG_LEVELS,
  logFormat,
  logLevel,
  machineTimeZone,
  memoryLimit,
  nonEmpty,
  optionalPath,
  timeZone,
  transcriptsSetting,
} from '../setting-parsers.js';
import { defineSetting, takes, type Setting, type SettingsCommand, type SettingValue } from './define.js';

/**
 * Every setting of session-lattice, each declared once (define.ts says what a declaration holds).
 * A new setting is one entry here, then `npm run generate` (the README table, the formulae's and
 * the systemd units' environment blocks). The order is the order of --help, the README and the
 * services' environment blocks.
 */

const MIB = 1024 * 1024;

const TABLE = {
  home: defineSetting({
    env: 'SESSION_LATTICE_HOME',
    flag: 'home',
    accepts: 'the data directory',
    doc: 'data directory',
    parse: (raw) => expandHome(nonEmpty('a directory path')(raw)),
    default: defaultHome(),
    defaultText: '~/.session-lattice',
    daemons: ['puller', 'reads'],
    commands: ['pull', 'status', 'views'],
  }),
  host: defineSetting({
    env: 'SESSION_LATTICE_HOST',
    flag: 'host',
    accepts: 'the address the reads server binds',
    doc: 'address the reads server binds',
    parse: nonEmpty('a host name or IP address'),
    default: '127.0.0.1',
    defaultText: '127.0.0.1',
    daemons: ['reads'],
    commands: ['watch'],
  }),
  port: defineSetting({
    env: 'SESSION_LATTICE_PORT',
    flag: 'port',
    accepts: 'the reads server port (0 picks a free one)',
    doc: 'reads server port (0 picks a free one)',
    parse: integer(0, 65535),
    default: 7778,
    defaultText: '7778',
    daemons: ['reads'],
    commands: ['watch'],
  }),
  allowedHosts: defineSetting({
    env: 'SESSION_LATTICE_ALLOWED_HOSTS',
    flag: 'allowed-hosts',
    accepts: 'extra Host/Origin names the reads server accepts besides loopback',
    doc: 'extra `Host`/`Origin` names the reads server accepts besides loopback',
    parse: hostList,
    default: [],
    defaultText: '(none)',
    daemons: ['reads'],
  }),
  staleAfterIntervals: defineSetting({
    env: 'SESSION_LATTICE_STALE_AFTER_INTERVALS',
    flag: 'stale-after-intervals',
    accepts: 'refresh intervals after which the data counts as stale and health is failing',
    doc: 'health is `failing` (`/healthz` 503, `status` exit 1) when the data is older than this many refresh intervals',
    parse: decimal(1, 10000),
    default: 3,
    defaultText: '3',
    daemons: ['reads'],
    commands: ['status'],
  }),
  repoRecallUrl: defineSetting({
    env: 'SESSION_LATTICE_REPO_RECALL_URL',
    flag: 'repo-recall-url',
    accepts: 'the repo-recall base URL',
    doc: 'repo-recall base URL',
    parse: httpUrl,
    default: 'http://127.0.0.1:7777',
    defaultText: 'http://127.0.0.1:7777',
    daemons: ['puller'],
    commands: ['pull'],
  }),
  refreshIntervalSeconds: defineSetting({
    env: 'SESSION_LATTICE_REFRESH_INTERVAL_SECONDS',
    flag: 'refresh-interval-seconds',
    accepts: 'seconds between pulls',
    doc: 'seconds between pulls; after a failed pull the next try comes after 1 s, then 2, 4, ... up to 10 min (or the interval, if longer), and while repo-recall is unreachable the puller checks every 2 s whether it is back and pulls at once',
    parse: decimal(0.1, 86400),
    default: 60,
    defaultText: '60',
    // The reads server and `status` judge staleness in refresh intervals.
    daemons: ['puller', 'reads'],
    commands: ['pull', 'status'],
  }),
  maxPayloadBytes: defineSetting({
    env: 'SESSION_LATTICE_MAX_PAYLOAD_MB',
    flag: 'max-payload-mb',
    accepts: 'the largest upstream payload accepted, in MiB',
    doc: 'largest upstream payload accepted',
    parse: (raw) => Math.round(decimal(0.001, 1024 * 1024)(raw) * MIB),
    default: 2048 * MIB,
    defaultText: '2048',
    daemons: ['puller'],
    commands: ['pull'],
  }),
  upstreamTimeoutSeconds: defineSetting({
    env: 'SESSION_LATTICE_UPSTREAM_TIMEOUT_SECONDS',
    flag: 'upstream-timeout-seconds',
    accepts: 'seconds to wait for upstream to connect, answer, or send more of the body',
    doc: 'connect / answer / body-idle timeout; the body must also keep coming: less than 64 KiB received in any span this long fails the pull (a drip-feed)',
    parse: decimal(0.1, 3600),
    default: 60,
    defaultText: '60',
    daemons: ['puller'],
    commands: ['pull'],
  }),
  upstreamRetries: defineSetting({
    env: 'SESSION_LATTICE_UPSTREAM_RETRIES',
    flag: 'upstream-retries',
    accepts: 'retries after a connection error, a 5xx or a 429',
    doc: 'retries after a connection error (a connect timeout included), a 5xx or a 429, with backoff and jitter, or after the `Retry-After` a 429 or 503 asks for (at most 60 s); never after another 4xx, a response or body timeout, or a bad body',
    parse: integer(0, 20),
    default: 3,
    defaultText: '3',
    daemons: ['puller'],
    commands: ['pull'],
  }),
  upstreamDeadlineSeconds: defineSetting({
    env: 'SESSION_LATTICE_UPSTREAM_DEADLINE_SECONDS',
    flag: 'upstream-deadline-seconds',
    accepts: 'seconds one pull may spend on upstream in all, retries and waits included',
    doc: 'the most one pull spends on upstream in all, every attempt and wait included; past it the pull fails and publishes nothing',
    parse: decimal(0.1, 86400),
    default: 600,
    defaultText: '600',
    daemons: ['puller'],
    commands: ['pull'],
  }),
  maxShrinkPercent: defineSetting({
    env: 'SESSION_LATTICE_MAX_SHRINK_PERCENT',
    flag: 'max-shrink-percent',
    accepts: 'the largest share of the loaded sessions a payload may drop before it is held back (100: never held)',
    doc: 'a payload that would drop more than this share of the loaded sessions is held back (see [the shrink guard](#when-upstream-shrinks-the-shrink-guard)); `100` turns the guard off for sizes',
    parse: decimal(0, 100),
    default: 50,
    defaultText: '50',
    daemons: ['puller'],
    commands: ['pull'],
  }),
  shrinkConfirmTicks: defineSetting({
    env: 'SESSION_LATTICE_SHRINK_CONFIRM_TICKS',
    flag: 'shrink-confirm-ticks',
    accepts: 'consecutive ticks a held-back payload must repeat on before it is published',
    doc: 'a held-back payload is published once the same one has come on this many consecutive pulls',
    parse: integer(1, 1000),
    default: 3,
    defaultText: '3',
    daemons: ['puller'],
    commands: ['pull'],
  }),
  eventsLogBytes: defineSetting({
    env: 'SESSION_LATTICE_EVENTS_LOG_KB',
    flag: 'events-log-kb',
    accepts: "the size in KiB at which the puller's event log (puller/events.jsonl) is rotated; the log and one rotated file are kept",
    doc: "the puller's event log (`puller/events.jsonl`) is rotated to `events.1.jsonl` before it grows past this; the two files are all that is kept",
    parse: (raw) => integer(1, 1024 * 1024)(raw) * 1024,
    default: 1024 * 1024,
    defaultText: '1024',
    daemons: ['puller'],
    commands: ['pull'],
  }),
  requestTimeoutSeconds: defineSetting({
    env: 'SESSION_LATTICE_REQUEST_TIMEOUT_SECONDS',
    flag: 'request-timeout-seconds',
    accepts: 'seconds a client has to send a whole request (headers and body) to the reads server before it is answered 408 and disconnected',
    doc: 'seconds a client has to send a whole request (headers and body) to the reads server; a slower one is answered 408 and disconnected',
    parse: decimal(1, 3600),
    default: 30,
    defaultText: '30',
    daemons: ['reads'],
  }),
  maxConnections: defineSetting({
    env: 'SESSION_LATTICE_MAX_CONNECTIONS',
    flag: 'max-connections',
    accepts: 'connections the reads server holds open at once; one more is answered 503 and closed',
    doc: 'connections the reads server holds open at once; one more is answered 503 (`busy`) and closed',
    parse: integer(1, 100000),
    default: 512,
    defaultText: '512',
    daemons: ['reads'],
  }),
  queryMemoryBytes: defineSetting({
    env: 'SESSION_LATTICE_QUERY_MEMORY_MB',
    flag: 'query-memory-mb',
    accepts: 'the memory cap of each MCP query worker process, in MiB (a query past it is stopped)',
    doc: "memory cap of each of the 2 worker processes that run the MCP `query` tool's SQL (128 to 65536); a query past it is stopped with an error saying so",
    parse: (raw) => integer(128, 65536)(raw) * MIB,
    default: 1024 * MIB,
    defaultText: '1024',
    daemons: ['reads'],
  }),
  memoryLimitBytes: defineSetting({
    env: 'SESSION_LATTICE_MEMORY_LIMIT',
    flag: 'memory-limit',
    accepts:
      "DuckDB's memory_limit for each DuckDB instance of the daemons (the puller's working database; each generation the reads server has open): a size like 512MB or 2GB, or a share of the machine's memory like 10%",
    doc: "DuckDB's `memory_limit` for each DuckDB instance of the two daemons: the puller's working database, and each generation the reads server has open (two for a moment while it switches). A size in DuckDB's syntax (`512MB`, `1GB`, `1.5GiB`; `GB` is 1000³, `GiB` 1024³) or a share of the machine's memory (`10%`), from 64 MiB; see [Memory and threads](#memory-and-threads)",
    parse: memoryLimit(64 * MIB, totalmem()),
    // DuckDB's own default is 80% of RAM per instance. 2GB is what a 1M-session pull needs with 2
    // threads (its views run out at 1GB: docs/design.md, "Memory and threads"), and it is a cap,
    // not a reservation (README.md, "Memory and threads"). The literal, not parse('2GB'): the
    // parser refuses more than the machine's memory, and the default must not depend on it.
    default: 2e9,
    defaultText: '2GB',
    daemons: ['puller', 'reads'],
    commands: ['pull'],
  }),
  threads: defineSetting({
    env: 'SESSION_LATTICE_THREADS',
    flag: 'threads',
    accepts: "DuckDB's threads for each DuckDB instance of the daemons",
    doc: "DuckDB's `threads` for each of those instances, 1 to 256; see [Memory and threads](#memory-and-threads)",
    parse: integer(1, 256),
    // DuckDB's own default is every core: 2 leave a laptop's other cores alone.
    default: 2,
    defaultText: '2',
    daemons: ['puller', 'reads'],
    commands: ['pull'],
  }),
  maxEventSubscribers: defineSetting({
    env: 'SESSION_LATTICE_MAX_EVENT_SUBSCRIBERS',
    flag: 'max-event-subscribers',
    accepts: 'clients that may follow GET /events at once; one more is answered 503',
    doc: 'clients that may follow `GET /events` at once; one more is answered 503 (`too_many_subscribers`)',
    parse: integer(1, 10000),
    default: 64,
    defaultText: '64',
    daemons: ['reads'],
  }),
  eventsHeartbeatSeconds: defineSetting({
    env: 'SESSION_LATTICE_EVENTS_HEARTBEAT_SECONDS',
    flag: 'events-heartbeat-seconds',
    accepts: 'seconds between heartbeats on a quiet GET /events stream',
    doc: 'seconds between heartbeat comments on a quiet `GET /events` stream',
    parse: decimal(0.1, 3600),
    default: 15,
    defaultText: '15',
    daemons: ['reads'],
  }),
  timezone: defineSetting({
    env: 'SESSION_LATTICE_TIMEZONE',
    flag: 'timezone',
    accepts: 'the IANA time zone days, weeks, months and hours are counted in',
    doc: 'the IANA zone (`America/Los_Angeles`, `Europe/Berlin`, `UTC`) days, weeks, months and hours are counted in; read at start: after a change, restart the puller, and its first tick re-materializes the calendar views',
    parse: timeZone,
    default: machineTimeZone(),
    defaultText: "(the machine's zone)",
    daemons: ['puller'],
    commands: ['pull'],
  }),
  pricingFile: defineSetting({
    env: 'SESSION_LATTICE_PRICING_FILE',
    flag: 'pricing-file',
    accepts: 'a JSON file of model prices that overrides or extends the bundled table (format: data/model-prices.json)',
    doc: "a JSON file of model prices that overrides or extends the bundled table ([format](data/model-prices.json)); a re-priced model's bundled aliases follow it; checked at start (restart the puller after editing it), and a change re-materializes the cost views on the first tick",
    parse: optionalPath,
    default: null,
    defaultText: '(none)',
    daemons: ['puller'],
    commands: ['pull'],
  }),
  transcripts: defineSetting({
    env: 'SESSION_LATTICE_TRANSCRIPTS',
    flag: 'transcripts',
    accepts: 'the Claude Code projects directories whose transcripts (*.jsonl, recursively) give per-response usage: a comma-separated list, or off',
    doc: "Claude Code `projects` directories, comma-separated, whose transcripts (every `*.jsonl` under them, subagents' included) the puller reads, read-only, for per-response usage; `off` turns this source off. A response once read is kept when Claude Code later deletes its transcript (it does after `cleanupPeriodDays`), so the usage history does not shrink; only usage metadata (ids, timestamps, model, token counts, cwd, the file's path) is stored, never prompt, response or tool text",
    parse: transcriptsSetting,
    // Resolved at each tick (src/puller/transcripts/directories.ts), not here: CLAUDE_CONFIG_DIR
    // and the directories that exist may change while the puller runs.
    default: 'default',
    defaultText: "(each CLAUDE_CONFIG_DIR entry's projects/, else ~/.config/claude/projects and ~/.claude/projects, those that exist)",
    daemons: ['puller'],
    commands: ['pull'],
  }),
  logLevel: defineSetting({
    env: 'SESSION_LATTICE_LOG_LEVEL',
    flag: 'log-level',
    accepts: `log level (${LOG_LEVELS.join(', ')})`,
    doc: 'pino log level; one summary line per tick, one access line per HTTP request (`warn` silences both)',
    parse: logLevel,
    default: 'info',
    defaultText: 'info',
    daemons: ['puller', 'reads'],
    commands: ['pull'],
  }),
  logFormat: defineSetting({
    env: 'SESSION_LATTICE_LOG_FORMAT',
    flag: 'log-format',
    accepts: `how the daemons log (${LOG_FORMATS.join(', ')}; auto: readable lines in a terminal, JSON lines otherwise)`,
    doc: '`json`: JSON lines (what the services write); `text`: one readable line per event; `auto`: text when standard output is a terminal, JSON otherwise. Colour only in a terminal, never with `NO_COLOR`',
    parse: logFormat,
    default: 'auto',
    defaultText: 'auto',
    // Not `pull`: a one-shot command prints an outcome, not a log (--json instead).
    daemons: ['puller', 'reads'],
  }),
};

/** The resolved configuration: one field per setting, of its parser's type. */
export type Config = { -readonly [K in keyof typeof TABLE]: SettingValue<(typeof TABLE)[K]> };
export type SettingKey = keyof Config;

/**
 * The table, typed by key: `SETTINGS[key].parse` returns `Config[key]` even for a generic key
 * (a mapped type indexed by its own key), which is what lets loadConfig assign without a cast.
 */
export const SETTINGS: { readonly [K in SettingKey]: Setting<Config[K]> } = TABLE;

function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(TABLE, key);
}

/** Every setting's key, in the table's order. */
export const SETTING_KEYS: readonly SettingKey[] = Object.freeze(Object.keys(TABLE).filter(isSettingKey));

function setDefault<K extends SettingKey>(config: Partial<Config>, key: K): void {
  config[key] = SETTINGS[key].default;
}

function isComplete(config: Partial<Config>): config is Config {
  return SETTING_KEYS.every((key) => Object.hasOwn(config, key));
}

function defaults(): Config {
  const config: Partial<Config> = {};
  for (const key of SETTING_KEYS) setDefault(config, key);
  if (!isComplete(config)) throw new Error('a setting has no default');
  return config;
}

/** Every setting at its default: what a command gets for what neither a flag nor the environment sets. */
export const DEFAULTS: Config = defaults();

/** The settings a command takes (its flags, and what loadConfig reads for it), in the table's order. */
export function commandSettings(command: SettingsCommand): readonly SettingKey[] {
  return SETTING_KEYS.filter((key) => takes(SETTINGS[key], command));
}
