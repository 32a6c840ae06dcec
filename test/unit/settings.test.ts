import { homedir, totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  commandSettings,
  DEFAULTS,
  flagKey,
  loadConfig,
  machineTimeZone,
  SETTING_KEYS,
  SETTINGS,
  settingName,
  type Config,
  type LogFormat,
  type LogLevel,
  type SettingKey,
  type TranscriptsSetting,
} from '../../src/shared/config.js';
import { duckdbInstanceOptions } from '../../src/shared/duckdb-settings.js';
import { ConfigError } from '../../src/shared/errors.js';
import { DAEMONS, isDescribedDefault, serviceValue, type SettingsCommand } from '../../src/shared/settings/define.js';

/**
 * A value each setting's parser refuses (null: the setting accepts any text). A record over every
 * key, so a new setting does not type-check here until it says what it refuses.
 */
const BAD: Record<SettingKey, string | null> = {
  home: '  ',
  host: '',
  port: '70000',
  allowedHosts: 'not a host',
  staleAfterIntervals: '0.5',
  repoRecallUrl: 'ftp://x',
  refreshIntervalSeconds: 'soon',
  maxPayloadBytes: '0',
  upstreamTimeoutSeconds: '-1',
  upstreamRetries: '2.5',
  upstreamDeadlineSeconds: 'never',
  maxShrinkPercent: '101',
  shrinkConfirmTicks: '0',
  eventsLogBytes: '1.5',
  requestTimeoutSeconds: '0',
  maxConnections: 'many',
  queryMemoryBytes: '64',
  memoryLimitBytes: 'lots',
  threads: 'all',
  maxEventSubscribers: '0',
  eventsHeartbeatSeconds: '',
  timezone: 'Mars/Olympus',
  pricingFile: null,
  transcripts: 'off,/a',
  logLevel: 'loud',
  logFormat: 'xml',
};

const COMMANDS: readonly SettingsCommand[] = ['serve-puller', 'serve-reads', 'serve', 'pull', 'status', 'views', 'watch'];

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('the settings table', () => {
  it.each(SETTING_KEYS)('%s has a variable, a flag, a help text and a one-line README text', (key) => {
    const s = SETTINGS[key];
    expect(s.env).toMatch(/^SESSION_LATTICE_[A-Z][A-Z0-9_]*$/);
    expect(s.flag).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
    expect(s.accepts.trim()).not.toBe('');
    expect(s.doc.trim()).not.toBe('');
    for (const text of [s.accepts, s.doc, s.defaultText]) expect(text).not.toMatch(/[\n|]/);
  });

  it('names every setting once: no two share a variable, a flag or the key commander files a flag under', () => {
    for (const name of [(k: SettingKey) => SETTINGS[k].env, (k: SettingKey) => SETTINGS[k].flag, (k: SettingKey) => flagKey(SETTINGS[k].flag)]) {
      const names = SETTING_KEYS.map(name);
      expect(new Set(names).size, names.join(', ')).toBe(names.length);
    }
  });

  it('gives every setting to a command, and a client command only settings a daemon reads (so the services set what a client reads)', () => {
    for (const key of SETTING_KEYS) {
      expect(
        COMMANDS.some((c) => commandSettings(c).includes(key)),
        `${key} is taken by no command`,
      ).toBe(true);
    }
    const daemons = new Set(commandSettings('serve'));
    for (const command of ['pull', 'status', 'views', 'watch'] as const) {
      for (const key of commandSettings(command)) expect(daemons.has(key), `${command} takes ${key}, which no daemon reads`).toBe(true);
    }
    // `pull` is one tick of the puller: it takes nothing the puller does not.
    const puller = new Set(commandSettings('serve-puller'));
    for (const key of commandSettings('pull')) expect(puller.has(key), `pull takes ${key}`).toBe(true);
  });

  it('lets `serve` take exactly what its two daemons take, in the table order', () => {
    const both = new Set(DAEMONS.flatMap((d) => commandSettings(d === 'puller' ? 'serve-puller' : 'serve-reads')));
    expect(commandSettings('serve')).toEqual(SETTING_KEYS.filter((k) => both.has(k)));
  });

  it.each(SETTING_KEYS)('%s: its default, as written, parses through its own parser to its default value', (key) => {
    const s = SETTINGS[key];
    // A literal is what the services set; a described default is what an empty variable gives.
    const written = isDescribedDefault(s) ? '' : s.defaultText;
    expect(serviceValue(s)).toBe(written);
    expect(s.parse(written)).toEqual(DEFAULTS[key]);
  });

  it.each(SETTING_KEYS.filter((k) => BAD[k] !== null))(
    '%s: a bad value is refused by a message naming the variable or the flag, and what it accepts',
    (key) => {
      const s = SETTINGS[key];
      const bad = BAD[key]!;
      const fromEnv = () => loadConfig({ [s.env]: bad }, {}, [key]);
      expect(fromEnv).toThrow(ConfigError);
      expect(fromEnv).toThrow(new RegExp(`^${escape(s.env)}=${escape(JSON.stringify(bad))} is not valid: ${escape(s.accepts)}; expected .+`));
      // The flag wins over the variable, and is the one named.
      const fromFlag = () => loadConfig({ [s.env]: serviceValue(s) }, { [flagKey(s.flag)]: bad }, [key]);
      expect(fromFlag).toThrow(new RegExp(`^--${escape(s.flag)}=${escape(JSON.stringify(bad))} is not valid: `));
    },
  );

  it('infers Config from the parsers', () => {
    expectTypeOf<Config['port']>().toEqualTypeOf<number>();
    expectTypeOf<Config['allowedHosts']>().toEqualTypeOf<string[]>();
    expectTypeOf<Config['pricingFile']>().toEqualTypeOf<string | null>();
    expectTypeOf<Config['transcripts']>().toEqualTypeOf<TranscriptsSetting>();
    expectTypeOf<Config['logLevel']>().toEqualTypeOf<LogLevel>();
    expectTypeOf<Config['logFormat']>().toEqualTypeOf<LogFormat>();
    expectTypeOf<keyof Config>().toEqualTypeOf<SettingKey>();
  });

  it('names a setting for advice as VARIABLE (--flag)', () => {
    expect(settingName('maxPayloadBytes')).toBe('SESSION_LATTICE_MAX_PAYLOAD_MB (--max-payload-mb)');
  });
});

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toEqual(DEFAULTS);
    expect(config.port).toBe(7778);
    expect(config.host).toBe('127.0.0.1');
    expect(config.repoRecallUrl).toBe('http://127.0.0.1:7777');
    expect(config.refreshIntervalSeconds).toBe(60);
    expect(config.home).toBe(join(homedir(), '.session-lattice'));
    expect(config.memoryLimitBytes).toBe(2e9);
    expect(config.threads).toBe(2);
    expect(config.pricingFile).toBeNull();
    expect(config.timezone).toBe(machineTimeZone());
  });

  it('hands out a fresh list: changing one config leaves the defaults alone', () => {
    loadConfig({}).allowedHosts.push('x.local');
    expect(DEFAULTS.allowedHosts).toEqual([]);
  });

  it('lets a flag win over its environment variable', () => {
    const env = { SESSION_LATTICE_PORT: '8000', SESSION_LATTICE_REFRESH_INTERVAL_SECONDS: '5' };
    expect(loadConfig(env).port).toBe(8000);
    expect(loadConfig(env, { port: '9000' }).port).toBe(9000);
    expect(loadConfig(env, { refreshIntervalSeconds: '0.5' }).refreshIntervalSeconds).toBe(0.5);
    expect(loadConfig({ SESSION_LATTICE_ALLOWED_HOSTS: 'a.local, B.local' }).allowedHosts).toEqual(['a.local', 'b.local']);
    expect(loadConfig({ SESSION_LATTICE_MAX_PAYLOAD_MB: '1' }).maxPayloadBytes).toBe(1048576);
    expect(loadConfig({ SESSION_LATTICE_QUERY_MEMORY_MB: '256' }).queryMemoryBytes).toBe(256 * 1048576);
    expect(loadConfig({ SESSION_LATTICE_QUERY_MEMORY_MB: '256' }, { queryMemoryMb: '2048' }).queryMemoryBytes).toBe(2048 * 1048576);
    expect(loadConfig({ SESSION_LATTICE_EVENTS_LOG_KB: '2' }).eventsLogBytes).toBe(2048);
  });

  it('only reads the settings a command uses', () => {
    expect(loadConfig({ SESSION_LATTICE_PORT: 'abc' }, {}, ['home', 'repoRecallUrl']).port).toBe(7778);
    expect(() => loadConfig({ SESSION_LATTICE_PORT: 'abc' }, {}, commandSettings('watch'))).toThrow(ConfigError);
  });

  it("reads the time zone as an IANA name in its canonical spelling; empty is the machine's zone", () => {
    expect(loadConfig({ SESSION_LATTICE_TIMEZONE: 'Australia/Adelaide' }).timezone).toBe('Australia/Adelaide');
    expect(loadConfig({ SESSION_LATTICE_TIMEZONE: ' america/new_york ' }).timezone).toBe('America/New_York');
    expect(loadConfig({ SESSION_LATTICE_TIMEZONE: 'UTC' }, { timezone: 'Europe/Berlin' }).timezone).toBe('Europe/Berlin');
    expect(loadConfig({ SESSION_LATTICE_TIMEZONE: '' }).timezone).toBe(machineTimeZone());
  });

  it('reads the pricing file as a path (~ expanded); empty is none', () => {
    expect(loadConfig({ SESSION_LATTICE_PRICING_FILE: '~/prices.json' }).pricingFile).toBe(join(homedir(), 'prices.json'));
    expect(loadConfig({ SESSION_LATTICE_PRICING_FILE: '/a.json' }, { pricingFile: '/b.json' }).pricingFile).toBe('/b.json');
    expect(loadConfig({ SESSION_LATTICE_PRICING_FILE: ' ' }).pricingFile).toBeNull();
  });

  it("reads the DuckDB memory limit as DuckDB's size syntax or a share of the machine's memory", () => {
    const limit = (raw: string) => loadConfig({ SESSION_LATTICE_MEMORY_LIMIT: raw }).memoryLimitBytes;
    expect(limit('512MB')).toBe(512e6);
    expect(limit('512MiB')).toBe(512 * 1048576);
    expect(limit(' 1.5 GiB ')).toBe(1.5 * 1024 ** 3);
    expect(limit('1gb')).toBe(1e9);
    expect(limit('262144KiB')).toBe(256 * 1048576);
    expect(limit('10%')).toBe(Math.floor(totalmem() * 0.1));
    expect(limit('12.5%')).toBe(Math.floor(totalmem() * 0.125));
    expect(loadConfig({ SESSION_LATTICE_MEMORY_LIMIT: '1GB' }, { memoryLimit: '300MB' }).memoryLimitBytes).toBe(300e6);
    // What reaches DuckDB: bytes, so that GB and GiB keep their meaning.
    expect(duckdbInstanceOptions({ memoryLimitBytes: 1e9, threads: 3 })).toEqual({ memory_limit: '1000000000B', threads: '3' });
  });

  it('reads the DuckDB threads as an integer', () => {
    expect(loadConfig({ SESSION_LATTICE_THREADS: '3' }).threads).toBe(3);
    expect(loadConfig({ SESSION_LATTICE_THREADS: '3' }, { threads: '1' }).threads).toBe(1);
  });

  it.each([
    ['SESSION_LATTICE_MEMORY_LIMIT', 'lots', /expected a size like 512MB, 1GB or 1.5GiB .* or a share of this machine's memory like 10%$/],
    ['SESSION_LATTICE_MEMORY_LIMIT', '512', /expected a size like 512MB/],
    ['SESSION_LATTICE_MEMORY_LIMIT', '', /expected a size like 512MB/],
    ['SESSION_LATTICE_MEMORY_LIMIT', '-1GB', /expected a size like 512MB/],
    ['SESSION_LATTICE_MEMORY_LIMIT', '1 GB per thread', /expected a size like 512MB/],
    ['SESSION_LATTICE_MEMORY_LIMIT', '0%', /expected a size like 512MB/],
    ['SESSION_LATTICE_MEMORY_LIMIT', '150%', /expected a size like 512MB/],
    ['SESSION_LATTICE_MEMORY_LIMIT', '10MB', /of at least 64 MiB$/],
    ['SESSION_LATTICE_MEMORY_LIMIT', '100TB', /of at most this machine's memory \(.* GiB\)$/],
    ['SESSION_LATTICE_THREADS', '0', /expected an integer from 1 to 256$/],
    ['SESSION_LATTICE_THREADS', '2.5', /expected an integer from 1 to 256$/],
    ['SESSION_LATTICE_THREADS', '', /expected an integer from 1 to 256$/],
    ['SESSION_LATTICE_PORT', '80.5', /expected an integer from 0 to 65535$/],
    ['SESSION_LATTICE_REPO_RECALL_URL', 'not a url', /expected an http:\/\/ or https:\/\/ URL/],
    ['SESSION_LATTICE_TIMEZONE', 'UTC+5', /expected an IANA time zone name/],
  ])('refuses %s=%j, saying what it accepts', (name, value, expected) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(expected);
  });
});
