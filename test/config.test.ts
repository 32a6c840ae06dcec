import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { homedir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig, machineTimeZone, SETTINGS } from '../src/shared/config.js';
import { duckdbInstanceOptions } from '../src/shared/duckdb-settings.js';
import { ConfigError } from '../src/shared/errors.js';
import { runCli, tempHome } from './helpers/processes.js';

describe('configuration', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toEqual(DEFAULTS);
    expect(config.port).toBe(7778);
    expect(config.host).toBe('127.0.0.1');
    expect(config.repoRecallUrl).toBe('http://127.0.0.1:7777');
    expect(config.refreshIntervalSeconds).toBe(60);
    expect(config.home.endsWith('.session-lattice')).toBe(true);
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
  });

  it('reads the time zone as an IANA name in its canonical spelling; empty is the machine\'s zone', () => {
    expect(DEFAULTS.timezone).toBe(machineTimeZone());
    expect(loadConfig({ SESSION_LATTICE_TIMEZONE: 'Australia/Adelaide' }).timezone).toBe('Australia/Adelaide');
    expect(loadConfig({ SESSION_LATTICE_TIMEZONE: ' america/new_york ' }).timezone).toBe('America/New_York');
    expect(loadConfig({ SESSION_LATTICE_TIMEZONE: 'UTC' }, { timezone: 'Europe/Berlin' }).timezone).toBe('Europe/Berlin');
    expect(loadConfig({ SESSION_LATTICE_TIMEZONE: '' }).timezone).toBe(machineTimeZone());
  });

  it('reads the pricing file as a path (~ expanded); empty is none', () => {
    expect(DEFAULTS.pricingFile).toBeNull();
    expect(loadConfig({ SESSION_LATTICE_PRICING_FILE: '~/prices.json' }).pricingFile).toBe(join(homedir(), 'prices.json'));
    expect(loadConfig({ SESSION_LATTICE_PRICING_FILE: '/a.json' }, { pricingFile: '/b.json' }).pricingFile).toBe('/b.json');
    expect(loadConfig({ SESSION_LATTICE_PRICING_FILE: ' ' }).pricingFile).toBeNull();
  });

  it("reads the DuckDB memory limit as DuckDB's size syntax or a share of the machine's memory", () => {
    expect(DEFAULTS.memoryLimitBytes).toBe(2e9);
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

  it('reads the DuckDB threads as an integer, 2 by default', () => {
    expect(DEFAULTS.threads).toBe(2);
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
    ['SESSION_LATTICE_THREADS', 'all', /expected an integer from 1 to 256$/],
    ['SESSION_LATTICE_THREADS', '2.5', /expected an integer from 1 to 256$/],
    ['SESSION_LATTICE_THREADS', '', /expected an integer from 1 to 256$/],
  ])('refuses %s=%j, saying what it accepts', (name, value, expected) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}=${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid: DuckDB's `));
    expect(() => loadConfig({ [name]: value })).toThrow(expected);
  });

  it.each([
    ['SESSION_LATTICE_PORT', 'abc'],
    ['SESSION_LATTICE_PORT', '70000'],
    ['SESSION_LATTICE_PORT', '80.5'],
    ['SESSION_LATTICE_REFRESH_INTERVAL_SECONDS', '0'],
    ['SESSION_LATTICE_REFRESH_INTERVAL_SECONDS', 'soon'],
    ['SESSION_LATTICE_REPO_RECALL_URL', 'ftp://x'],
    ['SESSION_LATTICE_REPO_RECALL_URL', 'not a url'],
    ['SESSION_LATTICE_HOME', '  '],
    ['SESSION_LATTICE_LOG_LEVEL', 'loud'],
    ['SESSION_LATTICE_UPSTREAM_RETRIES', '-1'],
    ['SESSION_LATTICE_QUERY_MEMORY_MB', '64'],
    ['SESSION_LATTICE_QUERY_MEMORY_MB', '1.5'],
    ['SESSION_LATTICE_TIMEZONE', 'Mars/Olympus'],
    ['SESSION_LATTICE_TIMEZONE', 'UTC+5'],
  ])('refuses %s=%j, naming it and what it accepts', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}=.*expected `));
  });

  it('names the flag when the bad value came from a flag', () => {
    expect(() => loadConfig({}, { port: '-3' })).toThrow(/^--port="-3" is not valid: .*an integer from 0 to 65535/);
  });

  it('only reads the settings a command uses', () => {
    expect(loadConfig({ SESSION_LATTICE_PORT: 'abc' }, {}, ['home', 'repoRecallUrl']).port).toBe(7778);
  });

  it('is documented in the README: every variable with its flag and default', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
    for (const s of Object.values(SETTINGS)) {
      // A literal default in code spans; a described one, "(none)" or "(the machine's zone)", as words.
      const shown = s.defaultText.startsWith('(') ? s.defaultText : `\`${s.defaultText}\``;
      expect(readme).toContain(`| \`${s.env}\` | \`--${s.flag}\` | ${shown} |`);
    }
  });

  it('has an environment variable and a flag for every setting', () => {
    for (const s of Object.values(SETTINGS)) {
      expect(s.env).toMatch(/^SESSION_LATTICE_[A-Z_]+$/);
      expect(s.flag).toMatch(/^[a-z][a-z-]+$/);
    }
  });
});

describe('CLI start-up errors', () => {
  it('exits non-zero naming a bad environment variable', async () => {
    const r = await runCli(['pull'], { SESSION_LATTICE_REFRESH_INTERVAL_SECONDS: 'often' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('SESSION_LATTICE_REFRESH_INTERVAL_SECONDS="often" is not valid');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits non-zero naming a bad DuckDB memory limit or thread count, from the variable or the flag', async () => {
    const fromEnv = await runCli(['pull'], { SESSION_LATTICE_MEMORY_LIMIT: '2 gigs' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('SESSION_LATTICE_MEMORY_LIMIT="2 gigs" is not valid');
    expect(fromEnv.stderr).toContain('a size like 512MB');
    const fromFlag = await runCli(['serve-reads', '--threads', '0']);
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toContain('--threads="0" is not valid');
  });

  it('exits non-zero naming a bad flag value', async () => {
    const r = await runCli(['serve-puller', '--repo-recall-url', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--repo-recall-url="nope" is not valid');
  });

  it('exits non-zero naming an unknown flag or command', async () => {
    const flag = await runCli(['pull', '--no-such-flag']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--no-such-flag'");
    const command = await runCli(['serve-everything']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain("unknown command 'serve-everything'");
  });

  it('prints its version and help', async () => {
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('serve-puller');
    expect(help.stdout).toContain('pull');
  });
});

describe('the view inputs at start-up: time zone and pricing file', () => {
  /** A home path that does not exist: a refused start must not create it. */
  async function untouchedHome(): Promise<string> {
    return join((await tempHome('lattice-config-')).dir, 'home');
  }

  it.each([
    ['pull', 'flag'],
    ['pull', 'variable'],
    ['serve-puller', 'flag'],
    ['serve-puller', 'variable'],
  ] as const)('%s refuses an unknown zone from the %s: exit 2 naming it, with an example of a valid one', async (command, source) => {
    const home = await untouchedHome();
    const args = [command, '--home', home, '--repo-recall-url', 'http://127.0.0.1:9'];
    // The flag case runs with a valid variable (the helpers set UTC): the flag is the one named.
    const r = source === 'flag' ? await runCli([...args, '--timezone', 'Mars/Olympus']) : await runCli(args, { SESSION_LATTICE_TIMEZONE: 'Mars/Olympus' });
    expect(r.code, r.stderr).toBe(2);
    const name = source === 'flag' ? '--timezone' : 'SESSION_LATTICE_TIMEZONE';
    expect(r.stderr).toContain(`error[config]: ${name}="Mars/Olympus" is not valid`);
    expect(r.stderr).toMatch(/like America\/Los_Angeles, Europe\/Berlin or UTC/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(home)).toBe(false);
  });

  const entry = (model: string, fields: Record<string, unknown> = {}) => ({
    model,
    input_usd_per_mtok: 3,
    output_usd_per_mtok: 15,
    cache_write_usd_per_mtok: 3.75,
    cache_read_usd_per_mtok: 0.3,
    ...fields,
  });
  const without = (e: Record<string, unknown>, field: string) => Object.fromEntries(Object.entries(e).filter(([k]) => k !== field));
  const table = (...models: unknown[]) => JSON.stringify({ models });

  it.each([
    ['is not JSON', '{"models": [', ['is not valid JSON']],
    ['lacks a price', table(entry('claude-a'), without(entry('claude-x'), 'output_usd_per_mtok')), ['models[1] ("claude-x"): output_usd_per_mtok: ', 'expected number']],
    ['has a negative price', table(entry('claude-x', { cache_read_usd_per_mtok: -0.3 })), ['models[0] ("claude-x"): cache_read_usd_per_mtok: ', '>=0']],
    ['has a price that is not a number', table(entry('claude-x', { input_usd_per_mtok: '3' })), ['models[0] ("claude-x"): input_usd_per_mtok: ', 'expected number, received string']],
    ['has an entry without a model id', table(without(entry('claude-x'), 'model')), ['models[0]: model: ']],
    ['names a model twice', table(entry('claude-x'), entry('claude-x')), ['models[1] ("claude-x"): model: "claude-x" is already priced by models[0] ("claude-x"): model']],
    [
      'names a model again as an alias',
      table(entry('claude-x'), entry('claude-y', { aliases: ['claude-x'] })),
      ['models[1] ("claude-y"): aliases[0]: "claude-x" is already priced by models[0] ("claude-x"): model'],
    ],
  ] as const)('pull refuses a pricing file that %s: exit 2 naming the file, and the entry and field where there is one', async (_what, text, expected) => {
    const dir = (await tempHome('lattice-prices-')).dir;
    const file = join(dir, 'prices.json');
    await writeFile(file, text);
    const home = join(dir, 'home');
    const r = await runCli(['pull', '--home', home, '--repo-recall-url', 'http://127.0.0.1:9', '--pricing-file', file]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`error[config]: SESSION_LATTICE_PRICING_FILE (--pricing-file) ${file} `);
    for (const part of expected) expect(r.stderr).toContain(part);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(home)).toBe(false);
  });

  it('serve-puller refuses a missing pricing file named by the variable: exit 2 at start', async () => {
    const dir = (await tempHome('lattice-prices-')).dir;
    const file = join(dir, 'no-such-prices.json');
    const home = join(dir, 'home');
    const r = await runCli(['serve-puller', '--home', home, '--repo-recall-url', 'http://127.0.0.1:9'], { SESSION_LATTICE_PRICING_FILE: file });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`error[config]: SESSION_LATTICE_PRICING_FILE (--pricing-file) ${file} cannot be read: ENOENT`);
    expect(existsSync(home)).toBe(false);
  });
});
