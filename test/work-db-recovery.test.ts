import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { homePaths } from '../src/shared/paths.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { runCli, startDaemon, tempHome, type Daemon } from './helpers/processes.js';
import { publishedGenerationOf, sha256 } from './helpers/snapshot.js';
import { pull } from './reads/fixtures.js';

/**
 * A working database that cannot be opened (garbage, truncated) is moved aside and rebuilt: the
 * puller starts, pulls in full and publishes a generation after the last one, and keeps one
 * broken copy. A lock conflict is never taken for a broken file: a second puller is refused and
 * the first one's file stays where it is.
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setUp(): Promise<{ home: string; recall: FakeRecall }> {
  const recall = await startFakeRecall({ sessions: 300, seed: 2 });
  cleanups.push(() => recall.close());
  const h = await tempHome('lattice-recovery-');
  cleanups.push(() => h.cleanup());
  await pull(h.dir, recall);
  return { home: h.dir, recall };
}

function daemon(args: string[]): Daemon {
  const d = startDaemon(args);
  cleanups.push(() => d.stop('SIGKILL'));
  return d;
}

async function brokenCopies(home: string): Promise<string[]> {
  return (await readdir(homePaths(home).pullerDir)).filter((n) => n.startsWith('work.duckdb.broken-')).sort();
}

const published = (home: string) => publishedGenerationOf(homePaths(home).published);

describe('a working database that cannot be opened', () => {
  it('garbage: serve-puller moves it aside, pulls in full, publishes the next generation', async () => {
    const { home, recall } = await setUp();
    const paths = homePaths(home);
    expect(await published(home)).toBe(1);
    const garbage = randomBytes(1 << 20);
    await writeFile(paths.workDb, garbage);

    const d = daemon(['serve-puller', '--home', home, '--repo-recall-url', recall.url, '--log-format', 'json']);
    await d.waitFor((x) => x.logLines().some((l) => l.tick === 'ok'), 'the first tick after the rebuild');
    const tick = d.logLines().find((l) => l.tick === 'ok');
    expect(tick).toMatchObject({ outcome: 'published', generation: 2, upstream: 'loaded', load: { mode: 'full' } });
    const moved = d.logLines().find((l) => typeof l.moved_to === 'string' && l.level === 50);
    expect(moved?.msg).toMatch(/cannot be opened: moved it aside/);
    expect(await published(home)).toBe(2);
    // The copy is the very bytes that could not be opened.
    const [copy, ...more] = await brokenCopies(home);
    expect(more).toEqual([]);
    expect(String(moved?.moved_to)).toBe(join(paths.pullerDir, copy!));
    expect(await sha256(join(paths.pullerDir, copy!))).toBe(sha256Of(garbage));
    expect(await d.stop()).toEqual({ code: 0, signal: null });
  });

  it('truncated: pull rebuilds it too, and only the newest broken copy is kept', async () => {
    const { home, recall } = await setUp();
    const paths = homePaths(home);
    await writeFile(paths.workDb, randomBytes(4096));
    await pull(home, recall);
    expect(await published(home)).toBe(2);
    // Distinct timestamps (seconds) for the two copies.
    await new Promise((r) => setTimeout(r, 1100));
    await truncate(paths.workDb, 300);
    const r = await runCli(['pull', '--home', home, '--repo-recall-url', recall.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^published generation 3, loaded 29\d sessions/);
    const copies = await brokenCopies(home);
    expect(copies).toHaveLength(1);
    expect((await stat(join(paths.pullerDir, copies[0]!))).size).toBe(300);
  });

  it('a lock conflict is not a broken file: the second puller is refused and nothing is moved', async () => {
    const { home, recall } = await setUp();
    const first = daemon(['serve-puller', '--home', home, '--repo-recall-url', recall.url, '--log-format', 'json', '--refresh-interval-seconds', '3600']);
    await first.waitFor((x) => x.logLines().some((l) => l.msg === 'started'), 'the first puller to start');
    const second = await runCli(['serve-puller', '--home', home, '--repo-recall-url', recall.url]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`PID ${first.pid}\\b`));
    expect(await brokenCopies(home)).toEqual([]);
    expect(await first.stop()).toEqual({ code: 0, signal: null });
  });

  it('the move runs under recover.lock: a live holder refuses, a dead one is taken over', async () => {
    const { home, recall } = await setUp();
    const paths = homePaths(home);
    const lock = join(paths.pullerDir, 'recover.lock');
    await writeFile(paths.workDb, randomBytes(4096));

    // A puller recovering this home right now (this test process stands in for it).
    await writeFile(lock, String(process.pid));
    const refused = await runCli(['pull', '--home', home, '--repo-recall-url', recall.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`PID ${process.pid}\\) is recovering the working database`));
    expect(await brokenCopies(home)).toEqual([]);

    // Left by a puller that was killed mid-recovery.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(lock, String(dead));
    await pull(home, recall);
    expect(await published(home)).toBe(2);
    expect(await brokenCopies(home)).toHaveLength(1);
    expect((await readdir(paths.pullerDir)).includes('recover.lock')).toBe(false);
  });
});

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
