import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChangedLines } from '../src/puller/changed-lines.js';
import { ElementIndex } from '../src/puller/element-index.js';
import { loadBaseTables } from '../src/puller/load.js';
import { stageFile } from '../src/puller/staging.js';
import { materializeDueViews, type ViewOutcome } from '../src/puller/materialize.js';
import { PayloadSplitter } from '../src/puller/payload-splitter.js';
import { loadPriceTable } from '../src/puller/prices.js';
import { readState } from '../src/puller/state.js';
import { applyViewInputs, type ViewInputs } from '../src/puller/view-inputs.js';
import type { WorkDb } from '../src/puller/work-db.js';
import { openWorkDb } from '../src/puller/work-schema.js';
import { CATALOG } from '../src/shared/catalog/index.js';
import { toolPairs } from '../src/shared/catalog/tools.js';
import { writePayloadFile } from '../test/fake-recall/generate.js';
import type { BenchModule } from './run.js';
import { max, median, min } from './stats.js';

/**
 * `npm run bench -- views`: materializes the whole catalog on 100k generated (messy) sessions
 * loaded by the real loader, per view and in total, in the puller's own code path
 * (materializeDueViews: one transaction per view, CREATE OR REPLACE TABLE ... AS <sql>).
 * Baseline in the same run: copying base.sessions into a new table (the floor for any view that
 * reads every session). Also compares two ways of computing tool co-occurrence.
 */
const SESSIONS = 100_000;
/** API responses in base.messages (BENCH_MESSAGES overrides; 0 measures the catalog on repo-recall's sessions alone). */
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/**
 * Fills base.messages the way the transcripts source would: 10 responses per session, 7 minutes
 * apart from its start, for the first 80% of the sessions (the rest have their transcripts
 * elsewhere: estimates), and the remaining responses in sessions repo-recall has not scanned.
 * Models: mostly Sonnet 4.5, some Opus 4.5 and Haiku 4.5, <synthetic>, an unknown model; 1-hour
 * cache writes, and now and then a long-context request.
 */
function messagesSql(count: number): string {
  return `
    INSERT INTO base.messages
    WITH numbered AS (
        SELECT row_number() OVER (ORDER BY session_id) - 1 AS n, session_uuid,
               coalesce(started_at, TIMESTAMP '2026-01-01 00:00:00') AS started_at
        FROM base.sessions
    ),
    responses AS (
        SELECT i, i // 10 AS k FROM range(${count}) t(i)
    )
    SELECT 'msg_' || r.i || ':req_' || r.i,
           coalesce(s.session_uuid, 'transcript-only-' || r.k),
           'msg_' || r.i, 'req_' || r.i, NULL, false,
           coalesce(s.started_at, TIMESTAMP '2026-01-01 00:00:00' + to_minutes((r.k * 37) % 500000)) + to_minutes((r.i % 10) * 7),
           CASE r.i % 20 WHEN 0 THEN 'claude-haiku-4-5' WHEN 1 THEN '<synthetic>' WHEN 2 THEN 'claude-mystery-9'
                         WHEN 3 THEN 'claude-opus-4-5' WHEN 4 THEN 'claude-opus-4-5' ELSE 'claude-sonnet-4-5' END,
           100 + r.i % 50, 200 + r.i % 300, (r.i % 7) * 100, (r.i % 11) * 50,
           CASE WHEN r.i % 97 = 0 THEN 250000 ELSE (r.i % 13) * 15000 END,
           'standard', '/code', '/t/' || r.k || '.jsonl'
    FROM responses r
    LEFT JOIN numbered s ON s.n = r.k AND s.n < (SELECT count(*) * 0.8 FROM numbered)`;
}

/** Streams the payload through the puller's splitter into its staging file (every line), as a first tick does. */
async function stageAll(payload: string, ndjson: string): Promise<{ elements: number; staged: number; passed: string[] }> {
  const splitter = new PayloadSplitter();
  const changed = new ChangedLines(new ElementIndex(), true);
  await pipeline(
    createReadStream(payload, { highWaterMark: 1 << 20 }),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        const bytes = splitter.push(chunk);
        if (bytes.length > 0) yield bytes;
      }
      const rest = splitter.end();
      if (rest.length > 0) yield rest;
    },
    changed,
    createWriteStream(ndjson),
  );
  return { elements: splitter.elements, staged: changed.written, passed: changed.passed };
}

async function timed(db: WorkDb, sql: string): Promise<number> {
  const t0 = performance.now();
  await db.run(sql);
  return performance.now() - t0;
}

/** The alternative to the self-join: each session's tool list, paired with the later names of the same list. */
const PAIRS_VIA_LISTS = `
  WITH session_tools AS (
      SELECT session_id, list(DISTINCT tool_name ORDER BY tool_name) AS tools
      FROM base.tool_calls
      GROUP BY session_id
  ),
  firsts AS (
      SELECT tools, unnest(tools) AS tool_a FROM session_tools
  ),
  pairs AS (
      SELECT tool_a, unnest(list_filter(tools, t -> t > tool_a)) AS tool_b FROM firsts
  )
  SELECT tool_a, tool_b, count(*) AS sessions_with_both
  FROM pairs
  GROUP BY tool_a, tool_b`;

const bench: BenchModule = {
  name: 'views',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'lattice-bench-views-'));
    let db: WorkDb | null = null;
    try {
      const payload = join(dir, 'payload.json');
      const ndjson = join(dir, 'payload.ndjson');
      await writePayloadFile({ sessions: SESSIONS, seed: 11, messy: true }, payload);
      const staged = await stageAll(payload, ndjson);
      await rm(payload);

      db = await openWorkDb(join(dir, 'work.duckdb'), dir);
      // A zone with DST, so that the calendar views do the work they do for most users.
      const inputs: ViewInputs = { timezone: 'America/Los_Angeles', prices: await loadPriceTable(null) };
      const state = await readState(db);
      const t0 = performance.now();
      await stageFile(db, ndjson, (await stat(ndjson)).size, true, Date.now() / 1000);
      const load = await loadBaseTables(
        db,
        { mode: 'full', gone: [], ...staged },
        { etag: '"1"', scanVersion: 1, upstreamGeneratedAt: null, fingerprint: 'bench' },
      );
      if (load.kind !== 'loaded') throw new Error(`the bench payload was not loaded (${load.kind})`);
      const loadMs = performance.now() - t0;
      await applyViewInputs(db, inputs, state);
      if (MESSAGES > 0) await db.run(messagesSql(MESSAGES));
      const messageRows = (await db.value<number>('SELECT count(*)::DOUBLE FROM base.messages')) ?? 0;
      const toolRows = (await db.value<number>('SELECT count(*)::DOUBLE FROM base.tool_calls')) ?? 0;

      const perView = new Map<string, number[]>();
      const rowCounts = new Map<string, number>();
      const totals: number[] = [];
      const baselines: number[] = [];
      const pairsSelfJoin: number[] = [];
      const pairsLists: number[] = [];
      const nowEpoch = Date.now() / 1000;
      for (let run = 1; run <= RUNS; run++) {
        baselines.push(await timed(db, 'CREATE OR REPLACE TABLE bench_copy AS SELECT * FROM base.sessions'));
        // A new base version and a clock far enough ahead make every view due, as after a load.
        const t = performance.now();
        const outcomes: ViewOutcome[] = await materializeDueViews(db, CATALOG, {
          baseVersion: run,
          scanVersion: 1,
          nowEpoch: nowEpoch + run * 86_400,
          inputs,
        });
        totals.push(performance.now() - t);
        for (const o of outcomes) {
          if (o.status !== 'materialized') throw new Error(`view ${o.name} failed: ${o.error}`);
          perView.set(o.name, [...(perView.get(o.name) ?? []), o.durationMs]);
          rowCounts.set(o.name, o.rowCount ?? 0);
        }
        if (outcomes.length !== CATALOG.length) throw new Error(`only ${outcomes.length} of ${CATALOG.length} views were due`);
        pairsSelfJoin.push(await timed(db, `CREATE OR REPLACE TEMP TABLE bench_pairs AS ${toolPairs.sql}`));
        pairsLists.push(await timed(db, `CREATE OR REPLACE TEMP TABLE bench_pairs AS ${PAIRS_VIA_LISTS}`));
      }
      await db.run('DROP TABLE IF EXISTS bench_copy');

      const base = median(baselines);
      const total = median(totals);
      const lines: string[] = [];
      lines.push('## Views: materializing the catalog');
      lines.push('');
      lines.push(
        `${SESSIONS.toLocaleString('en-US')} generated messy sessions (${load.sessions.toLocaleString('en-US')} loaded, ` +
          `${toolRows.toLocaleString('en-US')} tool-call rows), loaded by the real loader in ${(loadMs / 1000).toFixed(2)} s, ` +
          `and ${messageRows.toLocaleString('en-US')} API responses in base.messages (generated in SQL: 80% of the sessions ` +
          `with 10 each, the rest in sessions only in transcripts); ` +
          `then all ${CATALOG.length} views materialized by the puller's materializeDueViews (one transaction per view), ` +
          `${RUNS} runs, medians. Target: under 2 s in total.`,
      );
      lines.push('');
      lines.push(
        `**Total: ${(total / 1000).toFixed(2)} s** (wall time of materializeDueViews, bookkeeping included; ` +
          `fastest run ${(min(totals) / 1000).toFixed(2)} s, slowest ${(max(totals) / 1000).toFixed(2)} s).`,
      );
      lines.push('');
      lines.push('| view | rows | median | x baseline | refresh interval |');
      lines.push('|---|---:|---:|---:|---:|');
      lines.push(`| _baseline: CREATE TABLE AS SELECT * FROM base.sessions_ | ${load.sessions} | ${base.toFixed(0)} ms | 1.0x | |`);
      const sorted = [...CATALOG].sort((a, b) => median(perView.get(b.name)!) - median(perView.get(a.name)!));
      for (const v of sorted) {
        const ms = median(perView.get(v.name)!);
        lines.push(
          `| \`${v.name}\` | ${rowCounts.get(v.name)} | ${ms.toFixed(0)} ms | ${(ms / base).toFixed(1)}x | ${v.refreshIntervalSeconds === 0 ? 'every load' : `${v.refreshIntervalSeconds} s`} |`,
        );
      }
      lines.push('');
      lines.push(
        `Tool co-occurrence, the query most likely to be slow, two ways (CREATE TABLE AS, medians): self-join of ` +
          `(session, tool) on session_id (the catalog's \`tool_pairs\`, with its per-tool totals and ratios) ` +
          `${median(pairsSelfJoin).toFixed(0)} ms; per-session tool lists paired with list_filter (pairs only) ` +
          `${median(pairsLists).toFixed(0)} ms.`,
      );
      return lines.join('\n');
    } finally {
      db?.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
