import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthResponse } from '../src/reads/contract/api-types.js';
import { homePaths } from '../src/shared/paths.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { eventually, runCli, startDaemon, type Daemon } from './helpers/processes.js';
import { publishedGenerationOf } from './helpers/snapshot.js';
import { mountTmpfs, type Tmpfs } from './helpers/tmpfs.js';
import { get } from './reads/fixtures.js';

/**
 * A full disk under the home (a small tmpfs, so this file needs root: it fails, naming why, when
 * mount is refused). The puller's tick fails with ENOSPC at the checkpoint, after which DuckDB
 * refuses every statement ("database has been invalidated"): serve-puller must exit (75) so that
 * it is restarted, health must say the disk is full although status.json cannot be written, and
 * once the disk has room again a new generation must be published with no one acting.
 *
 * 2,000 sessions need about 10 MB of working database, WAL and published file: 6 MB is too
 * small for the first tick, 64 MB is plenty.
 */

const SESSIONS = 2000;
const TOO_SMALL_MB = 6;
const ROOMY_MB = 64;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  // Reverse order: processes stop before the tmpfs they run on is unmounted.
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function fakeRecall(): Promise<FakeRecall> {
  const r = await startFakeRecall({ sessions: SESSIONS, seed: 5 });
  cleanups.push(() => r.close());
  return r;
}

async function smallDisk(): Promise<Tmpfs> {
  const t = await mountTmpfs(TOO_SMALL_MB, 'lattice-disk-full-');
  cleanups.push(() => t.unmount());
  return t;
}

function daemon(args: string[]): Daemon {
  const d = startDaemon(args);
  cleanups.push(() => d.stop('SIGKILL'));
  return d;
}

/** "no space left on device at <home>, <n> MiB free", as the log, status.json and health all say it. */
const noSpaceAt = (home: string) =>
  new RegExp(`no space left on device at ${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, \\d+(\\.\\d)? (?:B|KiB|MiB|GiB) free`);

/** Temp files of status.json / metrics.json (a write cut short by the full disk must remove its own). */
async function tempFiles(home: string): Promise<string[]> {
  return (await readdir(homePaths(home).pullerDir).catch(() => [] as string[])).filter((n) => n.endsWith('.tmp'));
}

describe('a full disk under the home', () => {
  it('serve-puller exits 75 naming the cause and the free space; status says so; with room again it publishes', async () => {
    const recall = await fakeRecall();
    const disk = await smallDisk();
    const home = disk.dir;

    const first = daemon(['serve-puller', '--home', home, '--repo-recall-url', recall.url, '--log-format', 'json']);
    const exit = await first.exited;
    expect(exit, first.stderr + first.stdout).toEqual({ code: 75, signal: null });
    const failed = first.logLines().find((l) => l.tick === 'failed');
    expect(failed, first.stdout).toMatchObject({ fatal: 'disk-full', free_bytes: expect.any(Number) });
    expect(String(failed?.error)).toMatch(noSpaceAt(home));
    expect(first.logLines().at(-1)).toMatchObject({ msg: expect.stringMatching(/fatal storage error; exiting to be restarted/), exit_code: 75 });
    expect(await tempFiles(home)).toEqual([]);

    // Nothing is published and status.json may be the puller's first words only: status (which
    // writes nothing) reads the free space itself.
    const st = await runCli(['status', '--home', home, '--json']);
    expect(st.code).toBe(1);
    const report = JSON.parse(st.stdout) as { health: string; problems: string[] };
    expect(report.health).toBe('failing');
    expect(
      report.problems.some((p) => noSpaceAt(home).test(p)),
      report.problems.join('\n'),
    ).toBe(true);

    // `pull` on the same full disk: the registry's exit status for fatal_storage (75), with the reason.
    const pulled = await runCli(['pull', '--home', home, '--repo-recall-url', recall.url]);
    expect(pulled.code).toBe(75);
    expect(pulled.stderr).toMatch(/^error\[fatal_storage\]: pull failed: /);
    expect(pulled.stderr).toMatch(noSpaceAt(home));

    // Room again: the next process (what a service manager starts) publishes.
    disk.resize(ROOMY_MB);
    const second = daemon(['serve-puller', '--home', home, '--repo-recall-url', recall.url, '--log-format', 'json']);
    await second.waitFor((d) => d.logLines().some((l) => l.tick === 'ok' && l.outcome === 'published'), 'a published generation after the disk grew');
    expect(await second.stop()).toEqual({ code: 0, signal: null });
    expect(await publishedGenerationOf(homePaths(home).published)).toBeGreaterThanOrEqual(1);
    expect(await tempFiles(home)).toEqual([]);
  });

  it('under serve: /healthz says the disk is full with the free space; after the disk grows the restarted puller publishes, no one acting', async () => {
    const recall = await fakeRecall();
    const disk = await smallDisk();
    const home = disk.dir;
    const serve = daemon(['serve', '--home', home, '--repo-recall-url', recall.url, '--port', '0', '--refresh-interval-seconds', '3600']);
    await serve.waitFor((d) => d.logLines().some((l) => l.msg === 'listening'), 'serve to listen');
    const url = String(serve.logLines().find((l) => l.msg === 'listening')!.url);

    // The child's tick fills the disk and the child exits 75; the supervisor restarts it.
    await serve.waitFor(
      (d) => d.logLines().some((l) => l.msg === 'the puller process exited; restarting it' && l.code === 75),
      'the puller child to exit 75 and be restarted',
    );
    const health = await eventually(async () => {
      const r = await get(`${url}/healthz`);
      const h = r.json as HealthResponse;
      return r.status === 503 && h.status === 'failing' && h.reasons.some((t) => noSpaceAt(home).test(t)) ? h : undefined;
    }, '/healthz failing with the free space of the full disk');
    expect(health.generation).toBeNull();

    disk.resize(ROOMY_MB);
    const served = await eventually(async () => {
      const h = (await get(`${url}/healthz`)).json as HealthResponse;
      return h.generation !== null && h.generation >= 1 ? h : undefined;
    }, 'a generation published and served after the disk grew');
    expect(served.reasons.filter((t) => /no space left/.test(t))).toEqual([]);
    expect(serve.logLines().some((l) => l.msg === 'the puller process is back')).toBe(true);
    expect(await tempFiles(home)).toEqual([]);
    expect(await serve.stop()).toEqual({ code: 0, signal: null });
  });
});
