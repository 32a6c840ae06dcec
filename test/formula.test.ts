/**
 * The Homebrew formulae (Formula/*.rb) and the systemd user units (packaging/systemd/), checked
 * against the CLI they run: the service commands are real subcommands, every environment variable
 * is one that subcommand reads, at the config's default, and both daemons share one home.
 *
 * The formulae are parsed with real Ruby (no Homebrew here): test/formula/inspect-formula.rb loads
 * each with a stubbed Formula DSL, runs its install in a scratch keg, and runs its `test do` block
 * for real against the built CLI.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, SETTING_KEYS, SETTINGS, type SettingKey } from '../src/shared/config.js';
import { cliPath, runCli, tempHome } from './helpers/processes.js';

const ROOT = resolve(import.meta.dirname, '..');
const INSPECT = join(ROOT, 'test/formula/inspect-formula.rb');
const PKG = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

const ruby = spawnSync('ruby', ['--version'], { encoding: 'utf8' });
const RUBY_MISSING = ruby.error !== undefined || ruby.status !== 0;
if (RUBY_MISSING) {
  console.warn('formula.test.ts: `ruby` is not installed, so the Homebrew formulae are not checked (apt-get install ruby; .ci/run installs it)');
}

interface FormulaReport {
  file: string;
  errors: string[];
  class: string;
  name: string;
  version: string;
  url: string;
  sha256: string;
  depends_on: string[];
  service: null | {
    run: string[];
    keep_alive: unknown;
    working_dir?: string;
    log_path?: string;
    error_log_path?: string;
    environment_variables: Record<string, string>;
  };
  caveats: string | null;
  install_commands: string[][];
  installed_files: string[];
  test: null | { passed: boolean; error: string | null; commands: string[] };
}

const INSPECT_MS = 180_000;

function inspectFormula(file: string): FormulaReport {
  const out = spawnSync('ruby', [INSPECT, file, cliPath()], {
    encoding: 'utf8',
    env: { ...process.env, FORMULA_NODE: process.execPath },
    // Synchronous, so this is its only deadline: it runs the formula's test block (the real CLI).
    timeout: INSPECT_MS,
  });
  if (out.status !== 0) throw new Error(`inspect-formula.rb ${file} exited ${out.status}\n${out.stderr}\n${out.stdout}`);
  const report = JSON.parse(out.stdout) as FormulaReport;
  expect(report.errors, `${file} did not load`).toEqual([]);
  return report;
}

/** `[SESSION_LATTICE_X, default Y]` pairs of `session-lattice <sub> --help`: what <sub> reads. */
async function settingsOf(subcommand: string): Promise<Map<string, string>> {
  const help = await runCli([subcommand, '--help']);
  expect(help.code, `${subcommand} --help: ${help.stderr}`).toBe(0);
  const found = new Map<string, string>();
  for (const m of help.stdout.replace(/\s+/g, ' ').matchAll(/\[(SESSION_LATTICE_[A-Z_]+), default ([^\]]+)\]/g)) {
    found.set(m[1]!, m[2]!.trim());
  }
  expect(found.size, `${subcommand} --help lists no settings`).toBeGreaterThan(0);
  return found;
}

async function topLevelCommands(): Promise<string[]> {
  const help = await runCli(['--help']);
  expect(help.code).toBe(0);
  const section = help.stdout.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!);
}

function settingByEnv(env: string): SettingKey | undefined {
  return SETTING_KEYS.find((k) => SETTINGS[k].env === env);
}

/**
 * Checks one daemon's environment (a formula's or a unit's) against what the subcommand reads:
 * the same variables, each at the config's default. `home` is the home value expected (it is a
 * path the service manager or the CLI expands, so it is compared after expansion).
 */
function expectDefaults(what: string, env: Record<string, string>, reads: Map<string, string>, expandHome: (v: string) => string) {
  const own = Object.keys(env).filter((k) => k.startsWith('SESSION_LATTICE_'));
  expect(new Set(own), `${what}: the variables set should be exactly the ones the daemon reads`).toEqual(new Set(reads.keys()));
  for (const key of Object.keys(env)) {
    if (key === 'PATH') continue; // for the `#!/usr/bin/env node` of the installed binary
    const settingKey = settingByEnv(key);
    expect(settingKey, `${what}: ${key} is not a variable the config reads`).toBeDefined();
    const setting = SETTINGS[settingKey!];
    const raw = key === SETTINGS.home.env ? expandHome(env[key]!) : env[key]!;
    // Parsed, the value is the default itself...
    expect(setting.parse(raw), `${what}: ${key}=${JSON.stringify(env[key])} is not the default`).toEqual(DEFAULTS[settingKey!]);
    // ...and where the default is a literal, it is written the same way as in --help.
    if (key === SETTINGS.home.env) continue; // a path: compared expanded, above
    if (!setting.defaultText.startsWith('(')) expect(env[key], `${what}: ${key}`).toBe(setting.defaultText);
    else expect(env[key], `${what}: ${key} (default ${setting.defaultText})`).toBe('');
  }
}

const FORMULA_SUITE = RUBY_MISSING
  ? 'Homebrew formulae: SKIPPED because `ruby` is not installed (apt-get install ruby)'
  : 'Homebrew formulae (parsed with ruby)';

describe.skipIf(RUBY_MISSING)(FORMULA_SUITE, () => {
  let main: FormulaReport;
  let puller: FormulaReport;
  let reads: FormulaReport;
  let commands: string[];

  beforeAll(async () => {
    main = inspectFormula(join(ROOT, 'Formula/session-lattice.rb'));
    puller = inspectFormula(join(ROOT, 'Formula/session-lattice-puller.rb'));
    reads = inspectFormula(join(ROOT, 'Formula/session-lattice-reads.rb'));
    commands = await topLevelCommands();
  }, 3 * INSPECT_MS + 60_000);

  it('session-lattice: a Node formula of this package version that installs the binary', () => {
    expect(main.class).toBe('SessionLattice');
    expect(main.url).toBe(`https://registry.npmjs.org/${PKG.name}/-/${PKG.name}-${PKG.version}.tgz`);
    expect(main.version).toBe(PKG.version);
    expect(main.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(main.depends_on).toEqual(['node']);
    expect(main.service).toBeNull();
    const [npm] = main.install_commands;
    expect(npm?.slice(0, 2)).toEqual(['npm', 'install']);
    expect(npm).toContain('--global');
    expect(npm).toContain('--prefix=$HOMEBREW_PREFIX/Cellar/session-lattice/0.1.0/libexec'.replace('0.1.0', PKG.version));
    expect(main.installed_files).toContain('bin/session-lattice');
  });

  it("session-lattice: its test block runs the binary for real and passes (--version, a failing pull's reason)", () => {
    expect(main.test, 'no test do block').not.toBeNull();
    expect(main.test!.error).toBeNull();
    expect(main.test!.passed).toBe(true);
    expect(main.test!.commands.some((c) => c.endsWith('session-lattice --version'))).toBe(true);
    expect(main.test!.commands.some((c) => / pull /.test(c) && c.includes('--repo-recall-url'))).toBe(true);
  });

  for (const [label, sub, get] of [
    ['session-lattice-puller', 'serve-puller', () => puller],
    ['session-lattice-reads', 'serve-reads', () => reads],
  ] as const) {
    it(`${label}: a service formula that runs \`session-lattice ${sub}\` from the main formula`, async () => {
      const f = get();
      expect(f.name).toBe(label);
      expect(f.depends_on).toEqual(['session-lattice']);
      expect(f.url).toBe(main.url);
      expect(f.version).toBe(main.version);
      expect(f.installed_files.length, `${label} must install at least one file`).toBeGreaterThan(0);
      const service = f.service!;
      expect(service, `${label} has no service block`).not.toBeNull();
      // The main formula's binary, not the companion's own (empty) opt_bin.
      expect(service.run).toEqual(['$HOMEBREW_PREFIX/opt/session-lattice/bin/session-lattice', sub]);
      expect(commands).toContain(sub);
      const help = await runCli([sub, '--help']);
      expect(help.code).toBe(0);
      expect(service.keep_alive).toBe(true);
      expect(service.working_dir).toMatch(/^(\$HOMEBREW_PREFIX|\/)/);
      expect(service.log_path).toBe(`$HOMEBREW_PREFIX/var/log/${label}.log`);
      expect(service.error_log_path).toMatch(new RegExp(`^\\$HOMEBREW_PREFIX/var/log/${label}\\.[a-z.]*log$`));
      expect(service.environment_variables.PATH).toContain('$HOMEBREW_PREFIX/bin');
      expect(f.test?.passed, f.test?.error ?? '').toBe(true);
    });

    it(`${label}: sets every variable \`${sub}\` reads, at the config's defaults`, async () => {
      // The home is written as the CLI's own default (~/.session-lattice); session-lattice expands
      // the ~ itself, with the home directory of the user the service runs as.
      expectDefaults(label, get().service!.environment_variables, await settingsOf(sub), (v) => v);
    });

    it(`${label}: caveats name both brew services commands, the data and the logs`, () => {
      const caveats = get().caveats ?? '';
      expect(caveats).toContain('brew services start session-lattice-puller');
      expect(caveats).toContain('brew services start session-lattice-reads');
      expect(caveats).toContain('~/.session-lattice');
      expect(caveats).toContain(get().service!.log_path!);
    });
  }

  it('both services share one home, the CLI default', () => {
    const home = puller.service!.environment_variables.SESSION_LATTICE_HOME;
    expect(home).toBe(reads.service!.environment_variables.SESSION_LATTICE_HOME);
    expect(home).toBe(SETTINGS.home.defaultText);
    expect(SETTINGS.home.parse(home!)).toBe(join(homedir(), '.session-lattice'));
  });

  it('the harness is not vacuous: a formula whose test block fails is reported as failing', async () => {
    const dir = await tempHome('formula-broken-');
    try {
      const text = (await readFile(join(ROOT, 'Formula/session-lattice.rb'), 'utf8')).replace(
        'shell_output("#{bin}/session-lattice --version")',
        'shell_output("#{bin}/session-lattice --version", 3)',
      );
      const file = join(dir.dir, 'broken.rb');
      await writeFile(file, text);
      const report = inspectFormula(file);
      expect(report.test?.passed).toBe(false);
      expect(report.test?.error).toMatch(/exited 0, expected 3/);
    } finally {
      await dir.cleanup();
    }
  });
});

describe('systemd user units', () => {
  async function unit(name: string): Promise<{ exec: string[]; env: Record<string, string>; service: Record<string, string> }> {
    const text = await readFile(join(ROOT, 'packaging/systemd', name), 'utf8');
    const env: Record<string, string> = {};
    const service: Record<string, string> = {};
    let section = '';
    for (const line of text.split('\n')) {
      const l = line.trim();
      if (l.startsWith('#') || l === '') continue;
      const head = /^\[(.+)\]$/.exec(l);
      if (head) {
        section = head[1]!;
        continue;
      }
      const eq = l.indexOf('=');
      const key = l.slice(0, eq);
      const value = l.slice(eq + 1);
      if (section !== 'Service') continue;
      if (key === 'Environment') {
        const i = value.indexOf('=');
        env[value.slice(0, i)] = value.slice(i + 1);
      } else service[key] = value;
    }
    return { exec: (service.ExecStart ?? '').split(/\s+/), env, service };
  }

  for (const [name, sub] of [
    ['session-lattice-puller.service', 'serve-puller'],
    ['session-lattice-reads.service', 'serve-reads'],
  ] as const) {
    it(`${name}: restarts always, runs \`session-lattice ${sub}\`, every variable at its default`, async () => {
      const u = await unit(name);
      expect(u.service.Restart).toBe('always');
      expect(u.exec).toEqual(['/usr/bin/env', 'session-lattice', sub]);
      expect(await topLevelCommands()).toContain(sub);
      expect(u.env.SESSION_LATTICE_HOME).toBe('%h/.session-lattice');
      expectDefaults(name, u.env, await settingsOf(sub), (v) => v.replace(/^%h/, homedir()));
    });
  }

  it('both units share one home', async () => {
    const a = await unit('session-lattice-puller.service');
    const b = await unit('session-lattice-reads.service');
    expect(a.env.SESSION_LATTICE_HOME).toBe(b.env.SESSION_LATTICE_HOME);
  });
});
