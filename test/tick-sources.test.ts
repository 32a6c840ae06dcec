import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from 'undici';
import { ElementIndex } from '../src/puller/element-index.js';
import { upstreamAgent } from '../src/puller/fetch.js';
import { loadPriceTable } from '../src/puller/prices.js';
import type { IngestTranscripts } from '../src/puller/sources/transcripts.js';
import { runTick, SourcesFailed, type TickDeps } from '../src/puller/tick.js';
import type { TranscriptsReport } from '../src/puller/transcripts/report.js';
import { recordMessagesLoaded } from '../src/puller/state.js';
import type { WorkDb } from '../src/puller/work-db.js';
import { openWorkDb } from '../src/puller/work-schema.js';
import { CATALOG } from '../src/shared/catalog/index.js';
import { DEFAULTS } from '../src/shared/config.js';
import { homePaths, type HomePaths } from '../src/shared/paths.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { deadPort, tempHome, type TempHome } from './helpers/processes.js';
import { queryFile } from './helpers/snapshot.js';

/*
 * Each source fails on its own, in-process with real DuckDB files, the fake repo-recall and a
 * reader of transcripts that stands in for src/puller/transcripts/ (it writes base.messages rows
 * the way the reader does, and says what it did in the reader's report): a tick publishes what
 * the healthy source brought, never goes backwards in generation, and fails only when every
 * source it reads failed.
 */

function report(patch: Partial<TranscriptsReport>): TranscriptsReport {
  return {
    enabled: true,
    directories: [{ path: '/claude/projects', readable: true, files: 1 }],
    files: 1,
    filesRead: 1,
    bytesRead: 100,
    messages: 0,
    added: 0,
    updated: 0,
    skipped: [],
    warnings: [],
    changed: false,
    ...patch,
  };
}

/** A stand-in reader: `count` more responses each call (none: nothing changed), or a failure. */
function reader(plan: Array<number | Error>): IngestTranscripts {
  let total = 0;
  return async (db) => {
    const step = plan.shift() ?? 0;
    if (step instanceof Error) throw step;
    for (let i = 0; i < step; i++) {
      total++;
      await db.run(
        `INSERT INTO base.messages VALUES (?, 'session-a', ?, ?, NULL, false, TIMESTAMP '2026-06-01 10:00:00', 'claude-sonnet-4-5', 10, 20, 0, 0, 5, 'standard', '/work/a', '/claude/projects/a.jsonl')`,
        [`msg_${total}:req_${total}`, `msg_${total}`, `req_${total}`],
      );
    }
    // As the reader does, in its transaction: the views come due and the change is published.
    if (step > 0) await recordMessagesLoaded(db);
    return report({ messages: total, added: step, changed: step > 0 });
  };
}

describe('a tick with two sources', () => {
  let home: TempHome;
  let paths: HomePaths;
  let db: WorkDb;
  let agent: Agent;
  let recall: FakeRecall;
  const index = new ElementIndex();

  beforeAll(async () => {
    home = await tempHome('lattice-tick-sources-');
    paths = homePaths(home.dir);
    db = await openWorkDb(paths.workDb, paths.home);
    agent = upstreamAgent(30);
    recall = await startFakeRecall({ sessions: 4 });
  });

  afterAll(async () => {
    db?.close();
    await agent?.close();
    await recall?.close();
    await home?.cleanup();
  });

  async function deps(baseUrl: string, ingest: IngestTranscripts | null): Promise<TickDeps> {
    return {
      db,
      index,
      agent,
      paths,
      catalog: CATALOG,
      upstream: { baseUrl, maxBytes: 1 << 30, retries: 0, deadlineSeconds: 600, timeoutSeconds: 30 },
      guard: { maxShrinkPercent: DEFAULTS.maxShrinkPercent, confirmTicks: DEFAULTS.shrinkConfirmTicks, acceptShrink: false },
      transcripts: ingest && { directories: async () => ['/claude/projects'], ingest },
      inputs: { timezone: 'UTC', prices: await loadPriceTable(null) },
    };
  }

  const messagesPublished = async () => (await queryFile<{ n: number }>(paths.published, 'SELECT count(*)::DOUBLE AS n FROM base.messages'))[0]?.n;

  it('with repo-recall unreachable and the transcripts off, fails as before, publishing nothing', async () => {
    const down = `http://127.0.0.1:${await deadPort()}`;
    const err = await runTick(await deps(down, null)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SourcesFailed);
    expect((err as SourcesFailed).errorClass).toBe('unreachable');
    expect((err as SourcesFailed).message).toMatch(/^cannot reach repo-recall at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
  });

  it('with repo-recall unreachable, publishes what the transcripts brought, and only when they bring something new', async () => {
    const down = `http://127.0.0.1:${await deadPort()}`;
    const ingest = reader([2, 0, 1]);
    const first = await runTick(await deps(down, ingest));
    expect(first).toMatchObject({ outcome: 'published', generation: 1, failedSources: ['repo-recall'], upstream: 'failed' });
    expect(first.repoRecall).toMatchObject({ kind: 'failed', errorClass: 'unreachable' });
    expect(first.warnings.join('\n')).toMatch(/repo-recall failed \(the tick went on with the transcripts\): cannot reach repo-recall/);
    expect(await messagesPublished()).toBe(2);

    const idle = await runTick(await deps(down, ingest));
    expect(idle).toMatchObject({ outcome: 'unchanged', generation: 1, published: null });

    const more = await runTick(await deps(down, ingest));
    expect(more).toMatchObject({ outcome: 'published', generation: 2 });
    expect(await messagesPublished()).toBe(3);
  });

  it("with the transcripts failing, loads and publishes repo-recall's payload, keeping every message", async () => {
    const tick = await runTick(await deps(recall.url, reader([new Error('the disk of transcripts went away')])));
    expect(tick).toMatchObject({ outcome: 'published', generation: 3, upstream: 'loaded', failedSources: ['transcripts'] });
    expect(tick.transcripts).toMatchObject({ kind: 'failed', error: 'the transcripts could not be read: the disk of transcripts went away' });
    expect(await messagesPublished()).toBe(3);
    const [sessions] = await queryFile<{ n: number }>(paths.published, 'SELECT count(*)::DOUBLE AS n FROM base.sessions');
    expect(sessions?.n).toBe(4);
  });

  it('fails only when both fail, naming both, and leaves the published generation as it was', async () => {
    const down = `http://127.0.0.1:${await deadPort()}`;
    const err = await runTick(await deps(down, reader([new Error('no transcripts today')]))).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SourcesFailed);
    expect((err as Error).message).toMatch(/^cannot reach repo-recall at .*; the transcripts could not be read: no transcripts today$/);
    const [meta] = await queryFile<{ generation: number }>(paths.published, 'SELECT generation::DOUBLE AS generation FROM lattice.meta');
    expect(meta?.generation).toBe(3);
  });
});
