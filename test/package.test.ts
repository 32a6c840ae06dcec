/**
 * The package works when installed: `npm pack` the built project, install the tarball into an
 * empty prefix the way Homebrew's `std_npm_args` does (`npm install --global --ignore-scripts
 * --prefix <libexec> <tarball>`), then run the installed binary for real: `--version`, a `pull`
 * against the fake repo-recall, `status`, and `serve-reads` answering `/healthz`.
 *
 * Needs the npm registry (or npm's cache: --prefer-offline) for the dependencies.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { access, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { Daemon, RUN_CLI_MS, tempHome, trackChild, type TempHome } from './helpers/processes.js';

const ROOT = resolve(import.meta.dirname, '..');
const PKG = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

let work: TempHome;
let recall: FakeRecall;
let bin: string;
/** The installed binary runs through its `#!/usr/bin/env node` shebang: node must be on PATH. */
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };

/** npm runs synchronously (the event loop waits), so this is its only deadline; generous, for a busy machine. */
const NPM_MS = 300_000;

function npm(args: string[], cwd: string): { stdout: string; stderr: string } {
  const r = spawnSync('npm', args, { cwd, env, encoding: 'utf8', timeout: NPM_MS });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stderr}\n${r.stdout}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Runs the installed binary. Asynchronously: the fake repo-recall answers from this process. */
async function installed(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_CLI_MS);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  work = await tempHome('lattice-package-');
  recall = await startFakeRecall({ sessions: 150, seed: 5 });
});

afterAll(async () => {
  await recall?.close();
  await work?.cleanup();
});

describe('the packed tarball, installed into an empty prefix', () => {
  let files: string[];

  it('packs the built CLI, package.json and the systemd units, and no sources or tests', () => {
    // dist/ is already built (the test command builds first); prepack would rebuild it.
    const { stdout } = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work.dir], ROOT);
    const [pack] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    expect(pack!.filename).toBe(`${PKG.name}-${PKG.version}.tgz`);
    files = pack!.files.map((f) => f.path);
    expect(files).toContain('package.json');
    expect(files).toContain('dist/src/cli.js');
    expect(files).toContain('packaging/systemd/session-lattice-puller.service');
    expect(files).toContain('packaging/systemd/session-lattice-reads.service');
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('dist/test/') || f.startsWith('dist/bench/') || /^src\/.*\.ts$/.test(f))).toEqual([]);
  }, NPM_MS + 60_000);

  it('installs like Homebrew does (npm install --global --prefix libexec), with the binary in bin/', async () => {
    const prefix = join(work.dir, 'libexec');
    npm(
      ['install', '--global', '--prefix', prefix, '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work.dir, `${PKG.name}-${PKG.version}.tgz`)],
      work.dir,
    );
    bin = join(prefix, 'bin', 'session-lattice');
    await access(bin);
    // It runs from the prefix, not from this checkout's node_modules.
    expect(await readFile(join(prefix, 'lib/node_modules/session-lattice/package.json'), 'utf8')).toContain(`"version": "${PKG.version}"`);
  }, NPM_MS + 60_000);

  it('--version and --help', async () => {
    const v = await installed(['--version']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(PKG.version);
    const help = await installed(['--help']);
    expect(help.code).toBe(0);
    for (const sub of ['serve-puller', 'serve-reads', 'serve', 'pull', 'status', 'views']) expect(help.stdout).toMatch(new RegExp(`^\\s+${sub} `, 'm'));
  });

  it('pulls from the fake repo-recall and publishes; status reads it back', async () => {
    const home = join(work.dir, 'home');
    const pull = await installed(['pull', '--home', home, '--repo-recall-url', recall.url]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toMatch(/^published generation 1, loaded \d+ sessions/);
    const status = await installed(['status', '--home', home, '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ health: 'degraded', snapshot: { generation: 1 }, puller: { last_tick_outcome: 'published' } });
  });

  it('serve-reads answers /healthz from the published generation', async () => {
    const home = join(work.dir, 'home');
    const reads = new Daemon(spawn(bin, ['serve-reads', '--home', home, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      await reads.waitFor((d) => d.logLines().some((l) => l.msg === 'listening'), 'serve-reads to listen');
      const url = reads.logLines().find((l) => l.msg === 'listening')!.url as string;
      const res = await fetch(`${url}/healthz`);
      const body = (await res.json()) as { status: string; generation: number | null; version: string };
      expect(res.status).toBe(200);
      expect(body).toMatchObject({ generation: 1, version: PKG.version });
      expect(['ok', 'degraded']).toContain(body.status);
    } finally {
      const exit = await reads.stop('SIGTERM');
      expect(exit.code).toBe(0);
    }
  });
});
