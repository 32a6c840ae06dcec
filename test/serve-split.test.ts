import { afterEach, describe, expect, it } from 'vitest';
import type { HealthResponse } from '../src/reads/contract/api-types.js';
import { homePaths } from '../src/shared/paths.js';
import { readPullerStatus, type PullerStatus } from '../src/shared/status.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { alive, type Daemon, descendants, eventually, startDaemon, tempHome, WAIT_MS } from './helpers/processes.js';
import { get } from './reads/fixtures.js';

/**
 * `serve` runs the puller in a supervised child process (src/cli/puller-supervisor.ts), off the
 * event loop that answers reads: requests are answered while a tick on a large payload runs; a
 * crashed puller is restarted while the reads go on; a second `serve` on the same home is refused.
 * Not timed: each check waits for an event, with the helpers' generous deadlines.
 */

/** Large enough that a tick (fetch, load, views, publish) lasts a while even on a fast machine. */
const LARGE = 40_000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function fakeRecall(sessions: number): Promise<FakeRecall> {
  const r = await startFakeRecall({ sessions, seed: 3 });
  cleanups.push(() => r.close());
  return r;
}

async function home(): Promise<string> {
  const h = await tempHome('lattice-serve-split-');
  cleanups.push(() => h.cleanup());
  return h.dir;
}

function serve(dir: string, recall: FakeRecall, ...extra: string[]): Daemon {
  const d = startDaemon(['serve', '--home', dir, '--repo-recall-url', recall.url, '--port', '0', ...extra]);
  cleanups.push(() => d.stop('SIGKILL'));
  return d;
}

const listeningUrl = (d: Daemon) => String(d.logLines().find((l) => l.msg === 'listening')!.url);

async function status(dir: string): Promise<PullerStatus | undefined> {
  return (await readPullerStatus(homePaths(dir).status).catch(() => null)) ?? undefined;
}

/**
 * A `serve` on `dir` that has published and serves its first generation. A long interval: the
 * only ticks are the first one and those a test asks for.
 */
async function serveFirstGeneration(dir: string, recall: FakeRecall): Promise<{ d: Daemon; url: string }> {
  const d = serve(dir, recall, '--refresh-interval-seconds', '3600');
  await d.waitFor((x) => x.logLines().some((l) => l.msg === 'listening'), 'serve to listen');
  const url = listeningUrl(d);
  await eventually(async () => ((await get(`${url}/healthz`)).json as HealthResponse).generation === 1 || undefined, 'generation 1 served');
  return { d, url };
}

describe('serve: the puller in its own process', () => {
  it('answers /healthz and a view while a tick on a large payload runs, from a puller that is a child process', async () => {
    const recall = await fakeRecall(LARGE);
    const dir = await home();
    const { d, url } = await serveFirstGeneration(dir, recall);

    // The puller is not serve's own process: status.json names a child of it.
    const first = (await status(dir))!;
    expect(first.pid).not.toBe(d.pid);
    expect(descendants(d.pid)).toContain(first.pid);

    // The first tick (generation 1) ran while nothing asked; the second one runs under requests.
    // A restart of the puller makes it tick at once: SIGKILL it (the supervisor restarts it).
    await recall.setData({ sessions: LARGE, seed: 4 });
    process.kill(first.pid, 'SIGKILL');
    await eventually(async () => {
      const st = await status(dir);
      return st && st.pid !== first.pid && st.state === 'pulling' ? true : undefined;
    }, 'the restarted puller to be pulling');

    // While status.json says the tick runs, every request gets its answer, and the tick is still
    // running when it arrives (read after the response): no request waits for the tick.
    let during = 0;
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`the tick did not end within ${WAIT_MS} ms`);
      // A new limit each time: a DuckDB query and a render, not a cached answer.
      const [health, view] = await Promise.all([get(`${url}/healthz`), get(`${url}/views/tool_sessions?limit=${5 + during}`)]);
      const st = await status(dir);
      if (st?.state !== 'pulling') break;
      expect([200, 503]).toContain(health.status);
      expect(view.status).toBe(200);
      during++;
    }
    // At least a few round trips completed inside the tick (each a few ms on an idle event loop).
    expect(during).toBeGreaterThanOrEqual(3);
    await eventually(async () => ((await get(`${url}/healthz`)).json as HealthResponse).generation === 2 || undefined, 'generation 2 served');

    const stopped = await d.stop();
    expect(stopped.code).toBe(0);
    const last = (await status(dir))!;
    expect(last.state).toBe('stopped');
    expect(alive(last.pid)).toBe(false);
  });

  it('restarts a crashed puller while the reads go on, and a second serve on the same home exits 1 naming it', async () => {
    const recall = await fakeRecall(200);
    const dir = await home();
    const { d, url } = await serveFirstGeneration(dir, recall);
    const first = (await status(dir))!;

    // A second serve on the same home: refused by the running puller, before it listens.
    const second = startDaemon(['serve', '--home', dir, '--repo-recall-url', recall.url, '--port', '0']);
    cleanups.push(() => second.stop('SIGKILL'));
    const refused = await second.exited;
    expect(refused.code).toBe(1);
    expect(second.stderr).toContain(`(PID ${first.pid})`);
    expect(second.logLines().some((l) => l.msg === 'listening')).toBe(false);

    process.kill(first.pid, 'SIGKILL');
    await d.waitFor((x) => x.logLines().some((l) => l.msg === 'the puller process exited; restarting it'), 'the restart to be logged');
    const crash = d.logLines().find((l) => l.msg === 'the puller process exited; restarting it')!;
    expect(crash.puller_pid).toBe(first.pid);
    expect(crash.signal).toBe('SIGKILL');
    // The reads never went away.
    expect((await get(`${url}/views/tool_sessions?limit=5`)).status).toBe(200);
    const back = await eventually(async () => {
      const st = await status(dir);
      return st && st.pid !== first.pid && alive(st.pid) ? st : undefined;
    }, 'a new puller');
    expect(descendants(d.pid)).toContain(back.pid);

    const stopped = await d.stop();
    expect(stopped.code).toBe(0);
    expect(alive(back.pid)).toBe(false);
  });
});
