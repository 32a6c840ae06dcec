import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { defineView } from '../src/shared/catalog/define.js';
import { toolSessions } from '../src/shared/catalog/tools.js';
import { loadConfig } from '../src/shared/config.js';
import { createLogger } from '../src/shared/logger.js';
import { homePaths } from '../src/shared/paths.js';
import type { FetchProgress } from '../src/puller/fetch.js';
import { Puller } from '../src/puller/puller.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { eventually, tempHome, type TempHome } from './helpers/processes.js';
import { publishedGenerationOf } from './helpers/snapshot.js';

/** A view that runs for minutes unless interrupted. */
const endless = defineView({
  name: 'endless',
  description: 'Counts a huge range: only here to be interrupted.',
  refreshIntervalSeconds: 60,
  keyColumns: ['n'],
  sql: 'SELECT count(*) AS n FROM range(100000000000)',
});

let recall: FakeRecall;
let home: TempHome;

beforeEach(async () => {
  recall = await startFakeRecall({ sessions: 100, seed: 2 });
  home = await tempHome();
});

afterEach(async () => {
  await recall.close();
  await home.cleanup();
});

describe('stopping the puller in the middle of the views', () => {
  it('records nothing against the interrupted view, publishes nothing, and the next tick publishes the load', async () => {
    const config = { ...loadConfig({}, {}, []), home: home.dir, repoRecallUrl: recall.url };
    const logger = createLogger('test', 'silent');
    let received = false;
    const onProgress = (p: FetchProgress) => {
      if (p.totalBytes !== null && p.bytes === p.totalBytes) received = true;
    };
    const puller = await Puller.open({ config, catalog: [toolSessions, endless], logger, onProgress });
    const ticking = puller.tick();
    await eventually(() => (received ? true : undefined), 'the payload to arrive');
    // Then come the load and the first view, well under a second of CPU for 100 sessions, and the
    // endless view, which burns CPU until it is interrupted. Counting this process's CPU time rather
    // than the clock puts the stop inside the endless view however busy the machine is.
    const from = process.cpuUsage();
    await eventually(() => {
      const used = process.cpuUsage(from);
      return used.user + used.system >= 1_500_000 ? true : undefined;
    }, 'the tick to be inside the endless view');
    puller.stop();
    const result = await ticking;
    expect(result).toEqual({ ok: false, error: 'interrupted by shutdown', code: 'interrupted' });
    await puller.close();

    const work = await DuckDBInstance.create(homePaths(home.dir).workDb, { access_mode: 'READ_ONLY' });
    const conn = await work.connect();
    const rows = (await conn.runAndReadAll(`SELECT name, last_error FROM lattice.views ORDER BY name`)).getRowObjectsJson();
    conn.disconnectSync();
    work.closeSync();
    expect(rows).toEqual([
      { name: 'endless', last_error: null },
      { name: 'tool_sessions', last_error: null },
    ]);

    // The load committed (and its ETag with it): the next tick gets a 304 and still publishes it.
    const next = await Puller.open({ config, catalog: [toolSessions], logger });
    const second = await next.tick();
    await next.close();
    expect(second.ok && second.report.upstream).toBe('not-modified');
    expect(second.ok && second.report.outcome).toBe('published');
    expect(await publishedGenerationOf(homePaths(home.dir).published)).toBe(1);
  });
});
