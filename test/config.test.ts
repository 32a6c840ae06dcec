import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig, SETTINGS } from '../src/shared/config.js';
import { ConfigError } from '../src/shared/errors.js';
import { runCli } from './helpers/processes.js';

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
      expect(readme).toContain(`| \`${s.env}\` | \`--${s.flag}\` | \`${s.defaultText}\` |`.replace(/`(\(.*\))`/, '$1'));
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
