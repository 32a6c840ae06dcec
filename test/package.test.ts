/**
 * The package works when installed: `npm pack` the built project, install the tarball into an
 * empty prefix the way Homebrew's `std_npm_args` does (`npm install --global --ignore-scripts
 * --prefix <libexec> <tarball>`), then run the installed binary for real: `--version`, a `pull`
 * against the fake repo-recall, `status`, and `serve-reads` answering `/healthz`. And, installed
 * as a dependency of an empty project, `session-lattice/api` gives a TypeScript consumer the
 * API's types and one row type per view (checked by this repository's own tsc).
 *
 * Needs the npm registry (or npm's cache: --prefer-offline) for the dependencies.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
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

  it(
    'packs the built CLI, package.json and the systemd units, and no sources or tests',
    () => {
      // dist/ is already built (the test command builds first); prepack would rebuild it.
      const { stdout } = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work.dir], ROOT);
      const [pack] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
      expect(pack!.filename).toBe(`${PKG.name}-${PKG.version}.tgz`);
      files = pack!.files.map((f) => f.path);
      expect(files).toContain('package.json');
      expect(files).toContain('dist/src/cli.js');
      expect(files).toContain('packaging/systemd/session-lattice-puller.service');
      expect(files).toContain('packaging/systemd/session-lattice-reads.service');
      // the typed client entry point and every declaration it reaches
      for (const f of [
        'reads/contract/api.js',
        'reads/contract/api.d.ts',
        'reads/contract/api-types.d.ts',
        'reads/contract/view-rows.generated.d.ts',
        'shared/status.d.ts',
      ])
        expect(files).toContain(`dist/src/${f}`);
      expect(files.filter((f) => f.startsWith('test/') || f.startsWith('dist/test/') || f.startsWith('dist/bench/') || /^src\/.*\.ts$/.test(f))).toEqual([]);
    },
    NPM_MS + 60_000,
  );

  it(
    'installs like Homebrew does (npm install --global --prefix libexec), with the binary in bin/',
    async () => {
      const prefix = join(work.dir, 'libexec');
      npm(
        [
          'install',
          '--global',
          '--prefix',
          prefix,
          '--ignore-scripts',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
          '--loglevel=error',
          join(work.dir, `${PKG.name}-${PKG.version}.tgz`),
        ],
        work.dir,
      );
      bin = join(prefix, 'bin', 'session-lattice');
      await access(bin);
      // It runs from the prefix, not from this checkout's node_modules.
      expect(await readFile(join(prefix, 'lib/node_modules/session-lattice/package.json'), 'utf8')).toContain(`"version": "${PKG.version}"`);
    },
    NPM_MS + 60_000,
  );

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

  it(
    'gives a TypeScript consumer the API and row types: import type { ... } from session-lattice/api',
    async () => {
      const consumer = join(work.dir, 'consumer');
      await mkdir(consumer);
      await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
      // --ignore-scripts: only the types are used here (the binary is tested above)
      npm(
        ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work.dir, `${PKG.name}-${PKG.version}.tgz`)],
        consumer,
      );
      await writeFile(
        join(consumer, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            module: 'nodenext',
            moduleResolution: 'nodenext',
            noEmit: true,
            // Checks the package's declarations and what they import (zod's, for PullerStatus) too.
            skipLibCheck: false,
            // Only what index.ts imports: no @types package a dependency happens to bring.
            types: [],
          },
          files: ['index.ts'],
        }),
      );
      const tsc = (): { code: number | null; out: string } => {
        const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', consumer], {
          cwd: consumer,
          encoding: 'utf8',
          timeout: NPM_MS,
        });
        return { code: r.status, out: r.stdout + r.stderr };
      };

      await writeFile(join(consumer, 'index.ts'), CONSUMER);
      const ok = tsc();
      expect(ok.out).toBe('');
      expect(ok.code).toBe(0);

      // The check can fail: a field no view has is a type error that names it.
      await writeFile(join(consumer, 'index.ts'), `${CONSUMER}\nexport const wrong = (r: ViewRowsResponseOf<'tool_sessions'>) => r.rows[0]?.nope;\n`);
      const wrong = tsc();
      expect(wrong.code).not.toBe(0);
      expect(wrong.out).toContain("Property 'nope' does not exist on type 'ToolSessionsRow'");

      // At run time the entry point is an empty module: importing it runs and loads nothing.
      const run = spawnSync(
        process.execPath,
        ['--input-type=module', '-e', "const m = await import('session-lattice/api'); console.log(JSON.stringify(Object.keys(m)))"],
        { cwd: consumer, encoding: 'utf8', env },
      );
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe('[]');
    },
    NPM_MS + 120_000,
  );
});

/** A consumer of the typed API: each use must type-check, and each `@ts-expect-error` must be an error. */
const CONSUMER = `import type { ErrorCode, ErrorResponse, HealthResponse, ToolSessionsRow, ViewName, ViewRows, ViewRowsQuery, ViewRowsResponse, ViewRowsResponseOf } from 'session-lattice/api';

// a key column is never null
export function toolNames(res: ViewRowsResponseOf<'tool_sessions'>): string[] {
  const first: string | undefined = res.rows[0]?.tool_name;
  return first === undefined ? [] : res.rows.map((row) => row.tool_name);
}

// any other column may be
export const sessions = (row: ViewRows['tool_sessions']): number => row.session_count ?? 0;
// @ts-expect-error session_count may be null
export const unchecked = (row: ToolSessionsRow): number => row.session_count;
// @ts-expect-error tool_name is a string
export const wrongType = (row: ToolSessionsRow): number => row.tool_name;

export const view = (res: ViewRowsResponseOf<'session_facts'>): 'session_facts' => res.view;
export const views: ViewName[] = ['tool_sessions', 'session_facts'];
// @ts-expect-error not a view
export const notAView: ViewName = 'no_such_view';

export const query: ViewRowsQuery = { limit: 10, order_by: '-session_count', 'filter[tool_name]': 'Bash', 'filter[session_count][gte]': '5', columns: 'tool_name', count: 'none' };
// @ts-expect-error total is null with count=none
export const unchecked_total = (res: ViewRowsResponse): number => res.total;
export const total = (res: ViewRowsResponse): number => (res.total ?? 0) + res.rows.length + res.freshness.generation;
export const nextPage = (res: ViewRowsResponse): string | null => res.next_url ?? (res.next === null ? null : \`?after=\${res.next}\`);
export const ops = (res: ViewRowsResponse): string[] => res.filters.map((f) => \`\${f.column} \${f.op}\`);
export const message = (e: ErrorResponse): string => {
  const code: ErrorCode = e.error.code;
  return code + ': ' + e.error.message;
};
// PullerStatus is inferred from a zod schema: this reaches zod's declarations
export const outcome = (h: HealthResponse): string | null => h.puller?.last_tick_outcome ?? null;
`;
