/**
 * The Homebrew formulae (Formula/*.rb) and the systemd user units (packaging/systemd/), checked
 * against the CLI they run: the service commands are real subcommands, the environment blocks
 * (generated from src/shared/settings/table.ts; test/unit/generated.test.ts checks they are
 * fresh) load as Ruby and as a unit and set what the subcommand reads, and both daemons share one
 * home. That each default parses to the config's default is test/unit/settings.test.ts's.
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
import { commandSettings, SETTINGS } from '../src/shared/config.js';
import { serviceValue } from '../src/shared/settings/define.js';
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

/** The `SESSION_LATTICE_*` variables `session-lattice <sub> --help` names: what <sub> reads. */
async function variablesOf(subcommand: string): Promise<Set<string>> {
  const help = await runCli([subcommand, '--help']);
  expect(help.code, `${subcommand} --help: ${help.stderr}`).toBe(0);
  const found = new Set([...help.stdout.replace(/\s+/g, ' ').matchAll(/\[(SESSION_LATTICE_[A-Z_]+), default /g)].map((m) => m[1]!));
  expect(found.size, `${subcommand} --help lists no settings`).toBeGreaterThan(0);
  return found;
}

async function topLevelCommands(): Promise<string[]> {
  const help = await runCli(['--help']);
  expect(help.code).toBe(0);
  const section = help.stdout.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!);
}

/**
 * A daemon's environment (a formula's, or a unit's) as its service manager will hand it over: the
 * variables its command's --help names, no other, each at the value the settings table says the
 * service sets (the generated block is valid Ruby, or a valid unit, and says what was meant).
 * `home` is how the service writes the leading `~/`.
 */
async function expectDaemonEnvironment(what: string, env: Record<string, string>, sub: 'serve-puller' | 'serve-reads', home: string) {
  const own = Object.keys(env).filter((k) => k !== 'PATH'); // PATH: for the `#!/usr/bin/env node` of the installed binary
  expect(new Set(own), `${what}: the variables set should be exactly the ones the daemon reads`).toEqual(await variablesOf(sub));
  const expected = Object.fromEntries(commandSettings(sub).map((k) => [SETTINGS[k].env, serviceValue(SETTINGS[k]).replace(/^~\//, home)]));
  expect(Object.fromEntries(own.map((k) => [k, env[k]])), what).toEqual(expected);
}

const FORMULA_SUITE = RUBY_MISSING
  ? 'Homebrew formulae: SKIPPED because `ruby` is not installed (apt-get install ruby)'
  : 'Homebrew formulae (parsed with ruby)';

describe.skipIf(RUBY_MISSING)(FORMULA_SUITE, () => {
  let main: FormulaReport;
  let puller: FormulaReport;
  let reads: FormulaReport;
  let commands: string[];

  beforeAll(
    async () => {
      main = inspectFormula(join(ROOT, 'Formula/session-lattice.rb'));
      puller = inspectFormula(join(ROOT, 'Formula/session-lattice-puller.rb'));
      reads = inspectFormula(join(ROOT, 'Formula/session-lattice-reads.rb'));
      commands = await topLevelCommands();
    },
    3 * INSPECT_MS + 60_000,
  );

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
      await expectDaemonEnvironment(label, get().service!.environment_variables, sub, '~/');
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
      await expectDaemonEnvironment(name, u.env, sub, '%h/');
    });
  }

  it('both units share one home', async () => {
    const a = await unit('session-lattice-puller.service');
    const b = await unit('session-lattice-reads.service');
    expect(a.env.SESSION_LATTICE_HOME).toBe(b.env.SESSION_LATTICE_HOME);
  });
});
