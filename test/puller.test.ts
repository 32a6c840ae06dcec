import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CATALOG } from '../src/shared/catalog/index.js';
import { inputsRead } from '../src/puller/view-inputs.js';
import type { PriceRow } from '../src/puller/prices.js';
import { homePaths } from '../src/shared/paths.js';
import { readPullerStatus, type PullerStatus } from '../src/shared/status.js';
import { describeMessiness } from './fake-recall/generate.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { Daemon, eventually, runCli, startDaemon, tempHome, type TempHome } from './helpers/processes.js';
import { publishedGenerationOf, queryFile, sha256 } from './helpers/snapshot.js';

let recall: FakeRecall;
let home: TempHome;
const daemons: Daemon[] = [];

beforeEach(async () => {
  recall = await startFakeRecall({ sessions: 200, seed: 11 });
  home = await tempHome();
});

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
  await recall.close();
  await home.cleanup();
});

const paths = () => homePaths(home.dir);
const pullArgs = (...extra: string[]) => ['pull', '--home', home.dir, '--repo-recall-url', recall.url, ...extra];

function serve(...extra: string[]): Daemon {
  const d = startDaemon(['serve-puller', '--home', home.dir, '--repo-recall-url', recall.url, ...extra]);
  daemons.push(d);
  return d;
}

async function readStatus(): Promise<PullerStatus | undefined> {
  return (await readPullerStatus(paths().status)) ?? undefined;
}

async function leftovers(): Promise<string[]> {
  return (await readdir(home.dir)).filter((n) => n.includes('.tmp'));
}

/** The views whose rows depend on the zone, and those on the prices (their SQL reads it, or reads a view that does). */
const ZONE_VIEWS = CATALOG.filter((v) => inputsRead(v, CATALOG).timezone).map((v) => v.name);
const PRICE_VIEWS = CATALOG.filter((v) => inputsRead(v, CATALOG).prices).map((v) => v.name);
/** A model the fake's sessions use (alone, in some sessions), and its bundled alias. */
const REPRICED = 'claude-opus-4-5-20251101';
const REPRICED_ALIAS = 'claude-opus-4-5';

interface ViewStateRow {
  sql_hash: string;
  materialized_ms: number;
  row_count: number;
  watermark: number;
}

/** lattice.views of the published file, by view name. */
async function viewStates(): Promise<Map<string, ViewStateRow>> {
  const rows = await queryFile<ViewStateRow & { name: string }>(
    paths().published,
    `SELECT name, sql_hash, epoch_ms(materialized_at)::DOUBLE AS materialized_ms, row_count::INT AS row_count, watermark::INT AS watermark
     FROM lattice.views`,
  );
  return new Map(rows.map(({ name, ...state }) => [name, state]));
}

/** The views in `changed` got a new identity and were materialized again; every other view kept both. */
function expectRefreshed(before: Map<string, ViewStateRow>, after: Map<string, ViewStateRow>, changed: readonly string[]): void {
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  for (const [name, was] of before) {
    const now = after.get(name)!;
    if (changed.includes(name)) {
      expect(now.sql_hash, name).not.toBe(was.sql_hash);
      expect(now.materialized_ms, name).toBeGreaterThan(was.materialized_ms);
    } else {
      expect(now, name).toEqual(was);
    }
  }
}

async function snapshotMeta(): Promise<{ generation: number; timezone: string | null } | undefined> {
  const [meta] = await queryFile<{ generation: number; timezone: string | null }>(
    paths().published,
    'SELECT generation::INT AS generation, timezone FROM lattice.meta',
  );
  return meta;
}

interface PullDocument {
  outcome: string;
  generation: number;
  upstream: string;
  views_refreshed: string[];
}

/** `pull --json ...`, which must succeed: its outcome document. */
async function pullJson(...extra: string[]): Promise<PullDocument> {
  const r = await runCli(pullArgs('--json', ...extra));
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PullDocument;
}

function lastSessionsRequest() {
  return recall.requests.filter((r) => r.path === '/api/sessions').at(-1);
}

/** daily_activity as `day=sessions,...`, and its sessions in all. */
async function dailyActivity(): Promise<{ days: string; total: number }> {
  const [row] = await queryFile<{ days: string; total: number }>(
    paths().published,
    `SELECT string_agg(day::VARCHAR || '=' || session_count::VARCHAR, ',' ORDER BY day) AS days, sum(session_count)::INT AS total
     FROM main.daily_activity`,
  );
  return row!;
}

const SELECT_PRICES = `SELECT model, canonical_model, input_usd_per_mtok, output_usd_per_mtok, cache_write_usd_per_mtok,
                              cache_read_usd_per_mtok, price_date::VARCHAR AS price_date, source, from_pricing_file
                       FROM base.model_prices`;

/** usage_by_model's cost of the model's single-model sessions. */
async function modelCost(model: string): Promise<number> {
  const [row] = await queryFile<{ cost: number | null }>(
    paths().published,
    `SELECT cost_usd::DOUBLE AS cost FROM main.usage_by_model WHERE model = '${model}'`,
  );
  return row?.cost ?? Number.NaN;
}

describe('pull', () => {
  it('publishes a generation, then a restarted puller gets a 304 and publishes nothing', async () => {
    const first = await runCli(pullArgs());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`published generation 1, loaded ${describeMessiness({ sessions: 200, seed: 11 }).validRows} sessions (1 rejected)`);
    const published = await stat(paths().published);

    const second = await runCli(pullArgs());
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/unchanged \(generation 1\), upstream not modified/);
    const after = await stat(paths().published);
    expect(after.ino).toBe(published.ino);
    expect(after.mtimeMs).toBe(published.mtimeMs);

    const sessionRequests = recall.requests.filter((r) => r.path === '/api/sessions');
    expect(sessionRequests).toHaveLength(2);
    expect(sessionRequests[0]!.headers['if-none-match']).toBeUndefined();
    expect(sessionRequests[1]!.headers['if-none-match']).toBe(recall.etag);
    // Invariant 5: upstream is only ever read.
    expect(recall.requests.every((r) => r.method === 'GET')).toBe(true);

    const [meta] = await queryFile<Record<string, unknown>>(
      paths().published,
      `SELECT generation::INT AS generation, schema_version, scan_version::INT AS scan_version, etag,
              session_count::INT AS session_count, published_at IS NOT NULL AS has_published_at
       FROM lattice.meta`,
    );
    expect(meta).toEqual({
      generation: 1,
      schema_version: 1,
      scan_version: recall.scanVersion,
      etag: recall.etag,
      session_count: describeMessiness({ sessions: 200, seed: 11 }).validRows,
      has_published_at: true,
    });
  });

  it('skips and counts invalid rows, repairs unpaired surrogates, and loads every valid row', async () => {
    await recall.setData({ sessions: 3000, seed: 5 });
    const messiness = describeMessiness({ sessions: 3000, seed: 5 });
    expect(messiness.invalidRows).toBeGreaterThan(0);
    expect(messiness.surrogateRows).toBeGreaterThan(0);
    const r = await runCli(pullArgs());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`loaded ${messiness.validRows} sessions (${messiness.invalidRows} rejected)`);
    const status = await readStatus();
    expect(status?.rejected_rows).toBe(messiness.invalidRows);
    const prompts = await queryFile<{ session_id: number; last_prompt: string }>(
      paths().published,
      `SELECT session_id::INT AS session_id, last_prompt FROM base.sessions
       WHERE session_id IN (${messiness.surrogateSessionIds.join(',')}) ORDER BY session_id`,
    );
    expect(prompts.map((p) => p.session_id)).toEqual(messiness.surrogateSessionIds);
    for (const p of prompts) expect(p.last_prompt.endsWith('\ufffd')).toBe(true);
  });

  it('removes a WAL planted beside the published file when it publishes', async () => {
    expect((await runCli(pullArgs())).code).toBe(0);
    await writeFile(`${paths().published}.wal`, 'planted');
    await recall.setData({ sessions: 150, seed: 3 });
    const r = await runCli(pullArgs());
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(home.dir)).not.toContain('session-lattice.duckdb.wal');
    expect(await publishedGenerationOf(paths().published)).toBe(2);
  });

  it('publishes on the next tick what a tick loaded but failed to publish, even when upstream then answers 304', async () => {
    expect((await runCli(pullArgs())).code).toBe(0);
    // Make the rename fail after the load has committed (and with it the new ETag).
    await rm(paths().published);
    await mkdir(join(paths().published, 'in-the-way'), { recursive: true });
    await recall.setData({ sessions: 180, seed: 4 });
    const failed = await runCli(pullArgs());
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/pull failed: .*(EISDIR|ENOTEMPTY|directory)/i);
    await rm(paths().published, { recursive: true });

    const next = await runCli(pullArgs());
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/published generation 2, upstream not modified/);
    const [meta] = await queryFile<{ scan_version: number; sessions: number }>(
      paths().published,
      'SELECT scan_version::INT AS scan_version, (SELECT count(*) FROM base.sessions)::INT AS sessions FROM lattice.meta',
    );
    expect(meta).toEqual({ scan_version: recall.scanVersion, sessions: describeMessiness({ sessions: 180, seed: 4 }).validRows });
  });

  it('never publishes a generation number readers have seen, even after losing its working database', async () => {
    expect((await runCli(pullArgs())).code).toBe(0);
    await recall.setData({ sessions: 160, seed: 6 });
    expect((await runCli(pullArgs())).code).toBe(0);
    await rm(paths().workDb);
    await recall.setData({ sessions: 170, seed: 7 });
    const r = await runCli(pullArgs());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/published generation 3, loaded/);
    expect(await publishedGenerationOf(paths().published)).toBe(3);
  });

  it('exits non-zero with the reason when upstream is down, and leaves status saying so', async () => {
    const url = recall.url;
    await recall.close();
    const r = await runCli(['pull', '--home', home.dir, '--repo-recall-url', url, '--upstream-retries', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error\[upstream\]: pull failed: cannot reach repo-recall at http:\/\/127\.0\.0\.1:\d+ \(connection refused\): start repo-recall there/,
    );
    const status = await readStatus();
    expect(status).toMatchObject({ last_tick_outcome: 'failed', consecutive_failures: 1, state: 'stopped' });
    expect(r.stderr).toContain(status!.last_error!);
    recall = await startFakeRecall({ sessions: 5 });
  });
});

describe('every view refreshed by pull', () => {
  it('a pull that loads new data re-materializes every view from it', async () => {
    const first = await runCli(pullArgs());
    expect(first.code, first.stderr).toBe(0);
    const before = await viewStates();
    await recall.setData({ sessions: 260, seed: 12 });
    const expected = describeMessiness({ sessions: 260, seed: 12 }).validRows;
    expect(expected).not.toBe(describeMessiness({ sessions: 200, seed: 11 }).validRows);
    const secondStarted = Date.now();
    const second = await runCli(pullArgs('--json'));
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ outcome: 'published', generation: 2, upstream: 'loaded', sessions: expected });

    const [facts] = await queryFile<{ n: number }>(paths().published, 'SELECT count(*)::INT AS n FROM main.session_facts');
    expect(facts?.n).toBe(expected);
    const after = await viewStates();
    expect([...after.keys()].sort()).toEqual(CATALOG.map((v) => v.name).sort());
    expect(after.get('session_facts')?.row_count).toBe(expected);
    for (const [name, state] of after) {
      expect(state.materialized_ms, name).toBeGreaterThanOrEqual(secondStarted);
      expect(state.materialized_ms, name).toBeGreaterThan(before.get(name)!.materialized_ms);
      expect(state.watermark, name).toBe(2);
    }
  });
});

describe('view inputs: the time zone and the prices', () => {
  it('a new zone re-materializes exactly the calendar views, and a new pricing file exactly the cost views, though upstream answers 304', async () => {
    expect(ZONE_VIEWS.length).toBeGreaterThan(0);
    expect(PRICE_VIEWS.length).toBeGreaterThan(0);
    expect(CATALOG.some((v) => !ZONE_VIEWS.includes(v.name) && !PRICE_VIEWS.includes(v.name))).toBe(true);

    const first = await runCli(pullArgs());
    expect(first.code, first.stderr).toBe(0);
    const utc = await viewStates();
    expect(await snapshotMeta()).toMatchObject({ generation: 1, timezone: 'UTC' });
    const utcDays = await dailyActivity();

    // The zone: nothing new upstream (the request carries the current ETag, so the fake answers 304).
    const zoned = await pullJson('--timezone', 'America/Los_Angeles');
    expect(zoned).toMatchObject({ outcome: 'published', generation: 2, upstream: 'not-modified' });
    expect(lastSessionsRequest()?.headers['if-none-match']).toBe(recall.etag);
    expect([...zoned.views_refreshed].sort()).toEqual([...ZONE_VIEWS].sort());
    expect(await snapshotMeta()).toMatchObject({ generation: 2, timezone: 'America/Los_Angeles' });
    const la = await viewStates();
    expectRefreshed(utc, la, ZONE_VIEWS);
    // The days really moved: the same sessions, counted on other days.
    const laDays = await dailyActivity();
    expect(laDays.total).toBe(utcDays.total);
    expect(laDays.days).not.toEqual(utcDays.days);

    // The prices: one model re-priced (twice the bundled rates), one added; upstream still 304.
    const [bundled] = await queryFile<PriceRow>(paths().published, `${SELECT_PRICES} WHERE model = '${REPRICED}'`);
    expect(bundled).toMatchObject({ canonical_model: REPRICED, from_pricing_file: false });
    const costBefore = await modelCost(REPRICED);
    expect(costBefore).toBeGreaterThan(0);
    const file = join(home.dir, 'prices.json');
    await writeFile(
      file,
      JSON.stringify({
        models: [
          {
            model: REPRICED,
            input_usd_per_mtok: bundled!.input_usd_per_mtok * 2,
            output_usd_per_mtok: bundled!.output_usd_per_mtok * 2,
            cache_write_usd_per_mtok: bundled!.cache_write_usd_per_mtok * 2,
            cache_read_usd_per_mtok: bundled!.cache_read_usd_per_mtok * 2,
          },
          {
            model: 'claude-test-model-1',
            aliases: ['claude-test-model'],
            input_usd_per_mtok: 1,
            output_usd_per_mtok: 2,
            cache_write_usd_per_mtok: 1.25,
            cache_read_usd_per_mtok: 0.1,
            price_date: '2026-01-02',
            source: 'a test',
          },
        ],
      }),
    );
    const priced = await pullJson('--timezone', 'America/Los_Angeles', '--pricing-file', file);
    expect(priced).toMatchObject({ outcome: 'published', generation: 3, upstream: 'not-modified' });
    expect(lastSessionsRequest()?.headers['if-none-match']).toBe(recall.etag);
    expect([...priced.views_refreshed].sort()).toEqual([...PRICE_VIEWS].sort());
    expect(await snapshotMeta()).toMatchObject({ generation: 3, timezone: 'America/Los_Angeles' });
    expectRefreshed(la, await viewStates(), PRICE_VIEWS);
    expect(await modelCost(REPRICED)).toBeCloseTo(costBefore * 2, 4);

    const prices = new Map((await queryFile<PriceRow>(paths().published, SELECT_PRICES)).map((r) => [r.model, r]));
    // Left out of the file: the file's modification date and its path.
    const fileDate = (await stat(file)).mtime.toISOString().slice(0, 10);
    expect(prices.get(REPRICED)).toEqual({
      model: REPRICED,
      canonical_model: REPRICED,
      input_usd_per_mtok: bundled!.input_usd_per_mtok * 2,
      output_usd_per_mtok: bundled!.output_usd_per_mtok * 2,
      cache_write_usd_per_mtok: bundled!.cache_write_usd_per_mtok * 2,
      cache_read_usd_per_mtok: bundled!.cache_read_usd_per_mtok * 2,
      price_date: fileDate,
      source: `pricing file ${file}`,
      from_pricing_file: true,
    });
    // A bundled alias of the re-priced model follows it.
    expect(prices.get(REPRICED_ALIAS)).toEqual({ ...prices.get(REPRICED), model: REPRICED_ALIAS });
    for (const id of ['claude-test-model-1', 'claude-test-model']) {
      expect(prices.get(id), id).toEqual({
        model: id,
        canonical_model: 'claude-test-model-1',
        input_usd_per_mtok: 1,
        output_usd_per_mtok: 2,
        cache_write_usd_per_mtok: 1.25,
        cache_read_usd_per_mtok: 0.1,
        price_date: '2026-01-02',
        source: 'a test',
        from_pricing_file: true,
      });
    }
    // The rest of the bundled table is still there, untouched.
    expect(prices.get('claude-sonnet-4-20250514')).toMatchObject({ input_usd_per_mtok: 3, from_pricing_file: false });

    // Same inputs again: nothing to do, nothing published.
    const same = await pullJson('--timezone', 'America/Los_Angeles', '--pricing-file', file);
    expect(same).toMatchObject({ outcome: 'unchanged', generation: 3, upstream: 'not-modified', views_refreshed: [] });
  });

  it('a restarted serve-puller with a new zone re-materializes the calendar views on its first tick, under a 304', async () => {
    const first = await runCli(pullArgs());
    expect(first.code, first.stderr).toBe(0);
    const utc = await viewStates();
    const asked = recall.requests.length;
    const daemon = serve('--timezone', 'Europe/Berlin');
    await daemon.waitFor((d) => d.logLines().some((l) => l.msg === 'tick'), 'the first tick line');
    expect(daemon.logLines().find((l) => l.msg === 'tick')).toMatchObject({
      tick: 'ok',
      outcome: 'published',
      generation: 2,
      upstream: 'not-modified',
      views_materialized: ZONE_VIEWS.length,
    });
    const requests = recall.requests.slice(asked).filter((r) => r.path === '/api/sessions');
    expect(requests.map((r) => r.headers['if-none-match'])).toEqual([recall.etag]);
    await daemon.stop();
    expect(await snapshotMeta()).toMatchObject({ generation: 2, timezone: 'Europe/Berlin' });
    expectRefreshed(utc, await viewStates(), ZONE_VIEWS);
  });
});

describe('upstream faults', () => {
  // A short upstream timeout only where the timeout is the fault: elsewhere it could fire first on a
  // busy machine and fail the tick for another reason than the one checked.
  const timeout = ['--upstream-timeout-seconds', '0.5'];
  const cases: Array<[Parameters<FakeRecall['setFault']>[0], RegExp, string[]]> = [
    ['status-500', /answered 500/, []],
    ['status-503', /answered 503/, []],
    ['status-404', /answered 404/, []],
    ['hang', /did not answer in time/, timeout],
    ['truncate', /repo-recall request failed|ends early|terminated|closed/i, []],
    ['malformed-json', /not the expected shape/, []],
    ['wrong-shape', /not the expected shape/, []],
    ['oversized', /larger than the 8 MiB cap/, ['--max-payload-mb', '8']],
    ['reset', /repo-recall request failed/, []],
    // A chunk every second against a 0.5 s timeout: load only spaces the chunks further apart. The
    // pace rule (64 KiB per timeout span) or the idle timeout, whichever fires first.
    ['slow', /sending the sessions too slowly|stopped sending the body|did not answer/, timeout],
  ];

  it('fails the tick on every fault, keeps the published generation byte for byte, then recovers', async () => {
    const fast = ['--upstream-retries', '1'];
    const good = await runCli(pullArgs(...fast));
    expect(good.code, good.stderr).toBe(0);
    const before = await sha256(paths().published);
    const generation = 1;
    for (const [fault, reason, extra] of cases) {
      const mode = String(fault);
      await recall.setData({ sessions: 200 + generation, seed: 11 });
      recall.setFault(fault, mode === 'slow' ? { slowChunkBytes: 16, slowIntervalMs: 1000 } : {});
      const failed = await runCli(pullArgs(...fast, ...extra));
      expect(failed.code, `${mode}: ${failed.stdout}`).toBe(1);
      expect(failed.stderr, mode).toMatch(reason);
      const status = await readStatus();
      expect(status?.last_tick_outcome, mode).toBe('failed');
      expect(status?.last_error, mode).toMatch(reason);
      expect(await sha256(paths().published), mode).toBe(before);
      expect(await leftovers(), mode).toEqual([]);
      recall.setFault(null);
    }
    const recovered = await runCli(pullArgs(...fast));
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stdout).toMatch(/published generation 2/);
    expect(await publishedGenerationOf(paths().published)).toBe(2);
    expect((await readStatus())?.consecutive_failures).toBe(0);
    expect(recall.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('retries a 5xx with backoff and succeeds when upstream comes back', async () => {
    // No Retry-After: the puller's own backoff (a Retry-After is honoured instead: upstream-edge.test.ts).
    recall.setFault('status-503', { times: 2, retryAfter: null });
    const r = await runCli(pullArgs('--upstream-retries', '3', '--json'));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'published', generation: 1 });
    const retries = r.stderr.split('\n').filter((l) => l.includes('"msg":"retrying repo-recall"'));
    expect(retries.map((l) => (JSON.parse(l) as { attempt: number; retries: number }).attempt)).toEqual([1, 2]);
    for (const l of retries) expect((JSON.parse(l) as { reason: string }).reason).toMatch(/^repo-recall answered 503 for GET \/api\/sessions/);
    expect(recall.requests.filter((q) => q.path === '/api/sessions')).toHaveLength(3);
  });

  it('does not retry a 4xx', async () => {
    recall.setFault('status-404');
    const r = await runCli(pullArgs('--upstream-retries', '3'));
    expect(r.code).toBe(1);
    expect(recall.requests.filter((q) => q.path === '/api/sessions')).toHaveLength(1);
  });
});

describe('serve-puller', () => {
  // How fast the refusal comes is measured by the benchmark (bench/puller.ts), not asserted here.
  it(
    'refuses a second puller with the PID of the running one, before and after 20 publishes, and the refused one touches nothing',
    { timeout: 600_000 },
    async () => {
      const daemon = serve('--refresh-interval-seconds', '0.1');
      await eventually(async () => ((await readStatus())?.generation === 1 ? true : undefined), 'first publish');

      const refused = async () => {
        const second = await runCli(pullArgs());
        expect(second.code).toBe(1);
        expect(second.stderr).toContain(`another session-lattice puller (PID ${daemon.pid}) is already running on ${home.dir}`);
        const secondDaemon = await runCli(['serve-puller', '--home', home.dir, '--repo-recall-url', recall.url]);
        expect(secondDaemon.code).toBe(1);
        expect(secondDaemon.stderr).toContain(`(PID ${daemon.pid})`);
        // Refused before it did anything: the status is still the running puller's.
        expect((await readStatus())?.pid).toBe(daemon.pid);
      };
      await refused();
      for (let g = 2; g <= 21; g++) {
        await recall.setData({ sessions: 100 + g, seed: 11 });
        await eventually(async () => ((await readStatus())?.generation === g ? true : undefined), `generation ${g}`);
      }
      await refused();
      expect(daemon.running).toBe(true);
    },
  );

  it('publishes 50 generations while another process keeps opening the published file, never torn or going backwards', { timeout: 600_000 }, async () => {
    serve('--refresh-interval-seconds', '0.1');
    await eventually(async () => ((await readStatus())?.generation === 1 ? true : undefined), 'first publish');
    const stopFile = join(home.dir, 'stop-reader');
    const reader = new Daemon(
      spawn(process.execPath, [resolve(import.meta.dirname, '../dist/test/helpers/reader-loop.js'), paths().published, stopFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    daemons.push(reader);
    type Seen = { generation?: number; sessions?: number; declared?: number; error?: string; missing?: boolean };
    const seen = () => reader.logLines() as Seen[];
    const sessionsOf = (g: number) => 100 + g;
    for (let g = 1; g <= 51; g++) {
      if (g > 1) {
        await recall.setData({ sessions: sessionsOf(g), seed: 11, messy: false });
        await eventually(async () => ((await readStatus())?.generation === g ? true : undefined), `generation ${g}`);
      }
      // The reader opens the file in a loop, racing every publish; waiting until it has opened this
      // generation before asking for the next one makes sure it races all of them, however slow
      // the machine, instead of being starved through most of the run.
      await reader.waitFor(
        () => seen().some((s) => (s.generation ?? 0) >= g || s.error !== undefined || s.missing === true),
        `the reader to open generation ${g}`,
      );
    }
    await writeFile(stopFile, '');
    await reader.exited;
    const all = seen();
    expect(all.filter((s) => s.error !== undefined || s.missing)).toEqual([]);
    let last = 0;
    for (const s of all) {
      expect(s.generation).toBeGreaterThanOrEqual(last);
      // A whole generation: its base table holds exactly what its meta says it loaded.
      expect(s.sessions).toBe(s.declared);
      last = s.generation!;
    }
    expect(last).toBe(51);
    expect(new Set(all.map((s) => s.generation)).size).toBe(51);
  });

  it('survives kill -9 at random moments across 20 ticks: the published file is always whole, and the next start cleans up', { timeout: 600_000 }, async () => {
    let lastGeneration = 0;
    let roundsWithAFile = 0;
    // How long a start-up to its first publish, and a publishing tick, take on this machine now:
    // measured as the test goes, so that the random kill moments fall inside them however slow it is.
    let startToPublishMs = 2000;
    let tickMs = 1200;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (let round = 0; round < 20; round++) {
      const started = Date.now();
      const daemon = serve('--refresh-interval-seconds', '0.1');
      await recall.setData({ sessions: 1000 + round, seed: round });
      if (round % 2 === 0) {
        // Let this puller publish, then kill it somewhere inside its next tick (fetch, load, views,
        // publish), whatever the machine's speed.
        const before = lastGeneration;
        await eventually(async () => (((await readStatus())?.generation ?? 0) > before ? true : undefined), `a publish in round ${round}`);
        startToPublishMs = Date.now() - started;
        const publishing = daemon
          .logLines()
          .filter((l) => l.msg === 'tick' && l.outcome === 'published')
          .at(-1);
        if (typeof publishing?.duration_ms === 'number') tickMs = publishing.duration_ms;
        await recall.setData({ sessions: 1500 + round, seed: 100 + round });
        // The tick that loads the new data begins with its request to upstream.
        const asked = recall.requests.length;
        await eventually(() => (recall.requests.slice(asked).some((r) => r.path === '/api/sessions') ? true : undefined), `the tick of round ${round}`);
        await sleep(Math.random() * tickMs);
      } else {
        // Kill anywhere from start-up on.
        await sleep(Math.random() * startToPublishMs);
      }
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      try {
        await stat(paths().published);
      } catch {
        continue; // killed before the very first publish: nothing published yet is fine
      }
      const generation = await publishedGenerationOf(paths().published);
      expect(generation).toBeGreaterThanOrEqual(lastGeneration);
      const [counts] = await queryFile<{ sessions: number; declared: number }>(
        paths().published,
        'SELECT (SELECT count(*) FROM base.sessions)::INT AS sessions, (SELECT session_count FROM lattice.meta)::INT AS declared',
      );
      expect(counts!.sessions).toBe(counts!.declared);
      lastGeneration = generation;
      roundsWithAFile++;
    }
    // The kills must have landed among real publishes for this to prove anything.
    expect(roundsWithAFile).toBe(20);
    expect(lastGeneration).toBeGreaterThanOrEqual(10);
    const final = await runCli(pullArgs());
    expect(final.code, final.stderr).toBe(0);
    expect(await leftovers()).toEqual([]);
    expect(await readdir(paths().pullerDir)).not.toContain('incoming.ndjson');
    expect(await publishedGenerationOf(paths().published)).toBeGreaterThanOrEqual(lastGeneration);
  });

  // "Within 10 s" is the daemon's own deadline (src/cli/signals.ts): past it, it exits 1 by itself.
  it('stops cleanly on SIGTERM, even while upstream hangs, and releases the lock', async () => {
    const daemon = serve('--refresh-interval-seconds', '0.1', '--upstream-timeout-seconds', '60');
    await eventually(async () => ((await readStatus())?.generation === 1 ? true : undefined), 'first publish');
    // Every request for the sessions from now on hangs: once one has arrived, the puller is inside it.
    const asked = recall.requests.length;
    recall.setFault('hang');
    await recall.setData({ sessions: 300, seed: 2 });
    await eventually(() => (recall.requests.slice(asked).some((r) => r.path === '/api/sessions') ? true : undefined), 'a hung request');
    await eventually(async () => ((await readStatus())?.state === 'pulling' ? true : undefined), 'the puller to be in its tick');
    const exit = await daemon.stop('SIGTERM');
    expect(exit.code, daemon.stdout).toBe(0);
    const said = daemon.logLines().map((l) => l.msg);
    expect(said).toContain('stopping');
    expect(said.at(-1)).toBe('stopped');
    expect(said).not.toContain('did not stop within the deadline; exiting');
    // The hung request ended the tick as an interrupted one, not as a finished download.
    expect(
      daemon
        .logLines()
        .filter((l) => l.msg === 'tick')
        .at(-1),
    ).toMatchObject({ tick: 'failed', error: 'interrupted by shutdown' });
    expect((await readStatus())?.state).toBe('stopped');
    recall.setFault(null);
    const after = await runCli(pullArgs());
    expect(after.code, after.stderr).toBe(0);
  });

  it('logs one JSON summary line per tick and grows the wait after consecutive failures', async () => {
    recall.setFault('status-404');
    const daemon = serve('--refresh-interval-seconds', '0.2', '--upstream-retries', '0');
    await eventually(async () => (((await readStatus())?.consecutive_failures ?? 0) >= 3 ? true : undefined), '3 failures');
    const status = (await readStatus())!;
    const due = Date.parse(status.next_tick_due_at ?? '') - Date.parse(status.last_tick_finished_at ?? '');
    // After 3 failures the wait is 0.2 s * 2^2 = 0.8 s; the failure line says so.
    expect(due).toBeGreaterThanOrEqual(800);
    // The status file can be written before the log line reaches our pipe: wait for the lines.
    const failed = await eventually(async () => {
      const lines = daemon.logLines().filter((l) => l.msg === 'tick' && l.tick === 'failed');
      return lines.length >= 3 ? lines : undefined;
    }, '3 failed tick lines');
    expect(failed.slice(0, 3).map((l) => l.next_try_in_seconds)).toEqual([0.2, 0.4, 0.8]);
    recall.setFault(null);
    await eventually(async () => ((await readStatus())?.last_tick_outcome === 'published' ? true : undefined), 'recovery');
    await daemon.stop();
    const ticks = daemon.logLines().filter((l) => l.msg === 'tick');
    expect(ticks.filter((t) => t.tick === 'failed').length).toBeGreaterThanOrEqual(3);
    const ok = ticks.find((t) => t.tick === 'ok')!;
    expect(ok).toMatchObject({ outcome: 'published', generation: 1, upstream: 'loaded' });
    expect(typeof ok.duration_ms).toBe('number');
  });
});
