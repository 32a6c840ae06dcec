import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WatchCoalesce } from '../../src/shared/watch-coalesce.js';

const HOUR = 3_600_000;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-watch-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * Resolves once `ready()` is true, checking every few milliseconds (no fixed sleep); the deadline
 * is for a machine whose cores are all busy, not a measure of speed.
 */
async function until(ready: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function started(opts: Partial<ConstructorParameters<typeof WatchCoalesce>[0]> & { dir: string }): WatchCoalesce {
  const w = new WatchCoalesce({ names: ['watched.json'], pollMs: HOUR, run: async () => undefined, onError: () => undefined, ...opts });
  w.start();
  cleanups.push(() => w.stop());
  return w;
}

describe('WatchCoalesce', () => {
  it('triggers during a run make exactly one more run, never two at once', async () => {
    const dir = await tempDir();
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const firstRun = gate();
    let first: ReturnType<typeof gate> | null = firstRun;
    const w = started({
      dir,
      run: async () => {
        runs++;
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        const hold = first;
        first = null;
        if (hold) await hold.promise;
        concurrent--;
      },
    });
    const a = w.trigger();
    const more = [w.trigger(), w.trigger(), w.trigger()];
    firstRun.open();
    await Promise.all([a, ...more]);
    expect(runs).toBe(2);
    expect(maxConcurrent).toBe(1);
    // Idle again: the next trigger is a run of its own.
    await w.trigger();
    expect(runs).toBe(3);
  });

  it('runs on a change to a watched name, long before the poll would', async () => {
    const dir = await tempDir();
    let runs = 0;
    started({ dir, run: async () => void runs++ });
    await writeFile(join(dir, 'watched.json'), '{}');
    await until(() => runs > 0, 'a run from fs.watch');
  });

  it('polls a directory that does not exist yet, and goes on once it does', async () => {
    const root = await tempDir();
    const dir = join(root, 'later');
    let runs = 0;
    started({ dir, pollMs: 20, run: async () => void runs++ });
    await until(() => runs >= 2, 'runs from the poll alone');
    await mkdir(dir);
    const before = runs;
    await writeFile(join(dir, 'watched.json'), '{}');
    await until(() => runs > before, 'a run after the directory appeared');
  });

  it('hands a failed run to onError and keeps going', async () => {
    const dir = await tempDir();
    const errors: unknown[] = [];
    let runs = 0;
    const w = started({
      dir,
      run: async () => {
        runs++;
        if (runs === 1) throw new Error('first run fails');
      },
      onError: (err) => errors.push(err),
    });
    await w.trigger();
    await w.trigger();
    expect(runs).toBe(2);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('first run fails');
  });

  it('stop waits for the run in progress, and nothing runs after it', async () => {
    const dir = await tempDir();
    const hold = gate();
    let runs = 0;
    let finished = false;
    const w = started({
      dir,
      run: async () => {
        runs++;
        await hold.promise;
        finished = true;
      },
    });
    const running = w.trigger();
    void w.trigger(); // queued behind the first: dropped by the stop
    const stopping = w.stop();
    hold.open();
    await stopping;
    expect(finished).toBe(true);
    await running;
    await w.trigger();
    await writeFile(join(dir, 'watched.json'), '{}');
    expect(runs).toBe(1);
  });
});
