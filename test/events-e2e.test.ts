import { afterEach, describe, expect, it } from 'vitest';
import { readEventLog } from '../src/shared/events.js';
import { homePaths } from '../src/shared/paths.js';
import { startDaemon, tempHome, type Daemon } from './helpers/processes.js';
import { SseClient } from './helpers/sse.js';
import { startFake, startReads } from './reads/fixtures.js';

/**
 * End to end: a real `serve-puller` writes its event log, a real `serve-reads` streams it, and
 * GET /events and `session-lattice watch` both see what the puller did, as the log holds it, with
 * the reads server's own generation_served after each publish.
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function daemon(args: string[]): Daemon {
  const d = startDaemon(args, { FORCE_COLOR: '', NO_COLOR: '' });
  cleanups.push(() => d.stop('SIGKILL'));
  return d;
}

describe('GET /events with a real puller', () => {
  it('streams what serve-puller writes, and watch prints it', async () => {
    const home = await tempHome('lattice-sse-e2e-');
    cleanups.push(() => home.cleanup());
    const fake = await startFake(150);
    cleanups.push(() => fake.close());
    const reads = await startReads(home.dir);
    cleanups.push(() => reads.stop());
    const client = await SseClient.open(`${reads.url}/events`);
    cleanups.push(() => client.close());
    await client.started();
    const json = daemon(['watch', '--url', reads.url, '--json']);
    const words = daemon(['watch', '--url', reads.url]);
    await Promise.all([json, words].map((w) => w.waitFor((x) => x.stderr.includes('following '), 'watch to connect')));

    const puller = daemon(['serve-puller', '--home', home.dir, '--repo-recall-url', fake.url, '--refresh-interval-seconds', '0.5']);
    const served = (n: number) => client.ofType('generation_served').some((g) => g.generation === n);
    await client.until(() => served(1), 'generation 1 to be served');
    await fake.setData({ sessions: 170, seed: 2 });
    await client.until(() => served(2), 'generation 2 to be served');
    await puller.stop('SIGTERM');
    await client.until(() => client.events().some((e) => e.type === 'puller_stopping'), 'puller_stopping');

    // Every event the puller wrote, in order, once, as the log holds it.
    const log = await readEventLog(homePaths(home.dir));
    expect(client.events().map((e) => e.data)).toEqual(log);
    const types = log.map((e) => e.type);
    expect(types[0]).toBe('puller_started');
    expect(types.filter((t) => t === 'generation_published')).toHaveLength(2);
    // Each published generation is served by this reads server too (in either order: the puller
    // appends its event after the rename, the reads server opens the file when it sees the rename).
    expect(client.ofType('generation_served').map((g) => g.generation)).toEqual([1, 2]);

    const latencies = client.events().map((e) => e.receivedAt - Date.parse(e.data.at as string));
    expect(latencies).toHaveLength(log.length);
    const sorted = [...latencies].sort((a, b) => a - b);
    console.info(`end to end, ${log.length} events: latency (receive - at) median ${sorted[sorted.length >> 1]} ms, max ${sorted.at(-1)} ms`);
    // The puller stamps `at` when it asks for the append; on a busy machine its own write may wait.
    expect(sorted.at(-1)).toBeLessThan(5000);

    const printed = (w: Daemon) => w.stdout.split('\n').filter((l) => l !== '');
    await json.waitFor((w) => printed(w).length >= log.length + 2, 'watch --json to print every event');
    expect(printed(json).filter((l) => !l.includes('"generation_served"'))).toEqual(log.map((e) => JSON.stringify(e)));
    await words.waitFor((w) => printed(w).some((l) => l.includes('puller stopping')), 'watch to print puller stopping');
    expect(printed(words).some((l) => /^\d\d:\d\d:\d\d {2}published {2}generation 2 · [\d,]+ sessions · [\d.]+ (?:B|KiB|MiB)$/.test(l))).toBe(true);
    expect(printed(words).some((l) => /^\d\d:\d\d:\d\d {2}serving {2}generation 2 · published \d\d:\d\d:\d\d$/.test(l))).toBe(true);
  });
});
