/**
 * Settings at the CLI, through the built binary: a bad value stops the command at start (exit 2)
 * naming its variable or flag, before anything is created. The settings table and loadConfig
 * themselves are proved in the unit tier (test/unit/settings.test.ts); the copies of the table
 * (README, formulae, systemd units) by test/unit/generated.test.ts.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandSettings, SETTINGS } from '../src/shared/config.js';
import type { SettingsCommand } from '../src/shared/settings/define.js';
import { runCli, tempHome } from './helpers/processes.js';

describe('each command takes the settings the table gives it', () => {
  it.each(['serve-puller', 'serve-reads', 'serve', 'pull', 'status', 'views', 'watch'] satisfies SettingsCommand[])(
    '%s --help lists exactly its settings, each with its variable and default',
    async (command) => {
      const help = await runCli([command, '--help']);
      expect(help.code, help.stderr).toBe(0);
      const listed = [...help.stdout.replace(/\s+/g, ' ').matchAll(/--([a-z-]+) <value> .*?\[(SESSION_LATTICE_[A-Z_]+), default ([^\]]+)\]/g)];
      const expected = commandSettings(command).map((k) => [SETTINGS[k].flag, SETTINGS[k].env, SETTINGS[k].defaultText]);
      expect(listed.map((m) => [m[1], m[2], m[3]!.trim()])).toEqual(expected);
    },
  );
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
    [
      'lacks a price',
      table(entry('claude-a'), without(entry('claude-x'), 'output_usd_per_mtok')),
      ['models[1] ("claude-x"): output_usd_per_mtok: ', 'expected number'],
    ],
    ['has a negative price', table(entry('claude-x', { cache_read_usd_per_mtok: -0.3 })), ['models[0] ("claude-x"): cache_read_usd_per_mtok: ', '>=0']],
    [
      'has a price that is not a number',
      table(entry('claude-x', { input_usd_per_mtok: '3' })),
      ['models[0] ("claude-x"): input_usd_per_mtok: ', 'expected number, received string'],
    ],
    ['has an entry without a model id', table(without(entry('claude-x'), 'model')), ['models[0]: model: ']],
    [
      'names a model twice',
      table(entry('claude-x'), entry('claude-x')),
      ['models[1] ("claude-x"): model: "claude-x" is already priced by models[0] ("claude-x"): model'],
    ],
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
