import type { ViewDefinition } from '../shared/catalog/index.js';
import { errorMessage } from '../shared/errors.js';
import { META_SCHEMA, REFRESH_LOG_LIMIT, sqlIdentifier, VIEW_SCHEMA } from '../shared/snapshot.js';
import { viewIdentities, type ViewInputs } from './view-inputs.js';
import type { WorkDb } from './work-db.js';

export interface ViewOutcome {
  name: string;
  status: 'materialized' | 'failed';
  rowCount: number | null;
  durationMs: number;
  error: string | null;
}

interface StoredView {
  name: string;
  description: string;
  refresh_interval_seconds: number;
  key_columns: string[];
  sql_hash: string | null;
  materialized_epoch: number | null;
  error_epoch: number | null;
  watermark: number | null;
  attempted_version: number | null;
  valid_until_epoch: number | null;
  last_error: string | null;
}

export interface DueContext {
  /** The identity the view would be materialized with now (viewIdentities). */
  identity: string;
  baseVersion: number;
  nowEpoch: number;
  /** A one-shot `pull`: every view describes what was just loaded, whatever its interval. */
  ignoreIntervals: boolean;
}

/**
 * Whether a view should be (re)computed now: never tried, its identity (SQL, zone, prices)
 * changed, its rows expired by the clock, or base data moved past what it last tried and its
 * refresh interval has passed since. A view that failed is tried again with the next load (or
 * definition), not on every tick: a broken view must not publish a generation per tick.
 */
export function isDue(view: ViewDefinition, stored: StoredView | undefined, ctx: DueContext): boolean {
  if (!stored) return true;
  if (stored.sql_hash !== ctx.identity) return true;
  if (stored.valid_until_epoch !== null && ctx.nowEpoch >= stored.valid_until_epoch) return true;
  const attempted = stored.attempted_version ?? stored.watermark;
  if (attempted === ctx.baseVersion) return false;
  if (ctx.ignoreIntervals) return true;
  const lastAttempt = Math.max(stored.materialized_epoch ?? 0, stored.error_epoch ?? 0);
  return ctx.nowEpoch - lastAttempt >= view.refreshIntervalSeconds;
}

async function storedViews(db: WorkDb): Promise<Map<string, StoredView>> {
  const rows = await db.rows<StoredView>(`
    SELECT name, description, refresh_interval_seconds, key_columns, sql_hash,
           epoch(materialized_at) AS materialized_epoch,
           epoch(last_error_at) AS error_epoch,
           watermark::DOUBLE AS watermark,
           attempted_version::DOUBLE AS attempted_version,
           epoch(valid_until) AS valid_until_epoch,
           last_error
    FROM ${META_SCHEMA}.views`);
  return new Map(rows.map((r) => [r.name, r]));
}

/**
 * Keeps `lattice.views` in step with the catalog: describes every view, forgets views that left
 * the catalog (dropping their tables).
 */
async function syncCatalog(db: WorkDb, catalog: readonly ViewDefinition[], stored: Map<string, StoredView>): Promise<void> {
  for (const view of catalog) {
    const known = stored.get(view.name);
    if (
      known &&
      known.description === view.description &&
      known.refresh_interval_seconds === view.refreshIntervalSeconds &&
      JSON.stringify(known.key_columns) === JSON.stringify(view.keyColumns)
    ) {
      continue; // unchanged: a tick with nothing to do should write nothing
    }
    await db.run(
      `INSERT INTO ${META_SCHEMA}.views (name, description, refresh_interval_seconds, key_columns)
       VALUES (?, ?, ?, ?::VARCHAR[])
       ON CONFLICT (name) DO UPDATE SET description = excluded.description,
         refresh_interval_seconds = excluded.refresh_interval_seconds, key_columns = excluded.key_columns`,
      [view.name, view.description, view.refreshIntervalSeconds, JSON.stringify(view.keyColumns)],
    );
  }
  const names = new Set(catalog.map((v) => v.name));
  for (const name of stored.keys()) {
    if (names.has(name)) continue;
    await db.run(`DROP TABLE IF EXISTS ${VIEW_SCHEMA}.${sqlIdentifier(name)}`);
    await db.run(`DELETE FROM ${META_SCHEMA}.views WHERE name = ?`, [name]);
  }
}

/**
 * Materializes every due view, each in its own transaction: a view whose SQL fails keeps its
 * previous table, records its error, and does not stop the others. The views that read it fail
 * with it rather than refresh from its old rows, and every one of them is marked `stale` in
 * lattice.views: the generation says which of its views are behind the others.
 */
export async function materializeDueViews(
  db: WorkDb,
  catalog: readonly ViewDefinition[],
  opts: {
    baseVersion: number;
    scanVersion: number | null;
    nowEpoch: number;
    inputs: ViewInputs;
    ignoreIntervals?: boolean;
    signal?: AbortSignal;
  },
): Promise<ViewOutcome[]> {
  const stored = await storedViews(db);
  await syncCatalog(db, catalog, stored);
  const outcomes: ViewOutcome[] = [];
  const done = new Map<string, ViewOutcome>();
  const identities = viewIdentities(catalog, opts.inputs);
  for (const view of catalog) {
    const identity = identities.get(view.name)!;
    const due = { identity, baseVersion: opts.baseVersion, nowEpoch: opts.nowEpoch, ignoreIntervals: opts.ignoreIntervals === true };
    // A view reading one redone in this tick is redone too, whatever its own state says.
    const redone = view.readsViews.some((name) => done.has(name));
    if (!redone && !isDue(view, stored.get(view.name), due)) continue;
    opts.signal?.throwIfAborted();
    // Never computed from a view's stale rows: one that failed, in this tick or an earlier one.
    const failedInput = view.readsViews
      .map((name) => ({ name, error: done.has(name) ? done.get(name)!.error : (stored.get(name)?.last_error ?? null) }))
      .find((input) => input.error !== null);
    const outcome = failedInput
      ? await recordFailure(
          db,
          view,
          { ...opts, identity, started: new Date(), t0: performance.now() },
          `not refreshed: it reads ${failedInput.name}, which failed (${failedInput.error})`,
        )
      : await materializeView(db, view, { ...opts, identity });
    done.set(view.name, outcome);
    outcomes.push(outcome);
  }
  if (outcomes.length > 0) {
    await db.run(`
      DELETE FROM ${META_SCHEMA}.refresh_log
      WHERE started_at < (SELECT min(started_at) FROM (
        SELECT started_at FROM ${META_SCHEMA}.refresh_log ORDER BY started_at DESC LIMIT ${REFRESH_LOG_LIMIT}))`);
  }
  return outcomes;
}

async function materializeView(
  db: WorkDb,
  view: ViewDefinition,
  opts: { baseVersion: number; scanVersion: number | null; identity: string; signal?: AbortSignal },
): Promise<ViewOutcome> {
  const started = new Date();
  const t0 = performance.now();
  const table = `${VIEW_SCHEMA}.${sqlIdentifier(view.name)}`;
  try {
    const rowCount = await db.transaction(async () => {
      await db.run(`CREATE OR REPLACE TABLE ${table} AS ${view.sql}`);
      const count = (await db.value<number>(`SELECT count(*)::DOUBLE FROM ${table}`)) ?? 0;
      const validUntil = view.validUntilSql
        ? await db.value<string>(`WITH this AS (FROM ${table}) SELECT strftime((${view.validUntilSql}) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')`)
        : null;
      const durationMs = performance.now() - t0;
      await db.run(
        `UPDATE ${META_SCHEMA}.views
         SET sql_hash = ?, materialized_at = ?::TIMESTAMPTZ, row_count = ?, watermark = ?, attempted_version = ?,
             scan_version = ?, last_duration_ms = ?, last_error = NULL, last_error_at = NULL, valid_until = ?::TIMESTAMPTZ,
             stale = false
         WHERE name = ?`,
        [opts.identity, started.toISOString(), count, opts.baseVersion, opts.baseVersion, opts.scanVersion, durationMs, validUntil, view.name],
      );
      await logRefresh(db, view.name, started, count, null);
      return count;
    });
    return {
      name: view.name,
      status: 'materialized',
      rowCount,
      durationMs: performance.now() - t0,
      error: null,
    };
  } catch (err) {
    // Interrupted by shutdown: not the view's fault, so nothing is recorded against it.
    if (opts.signal?.aborted) throw err;
    return recordFailure(db, view, { ...opts, started, t0 }, errorMessage(err).split('\n')[0] ?? 'unknown error');
  }
}

/**
 * Records a failed attempt: the view keeps its previous rows, marked stale (they are from an
 * earlier load than the views that refreshed), and is due again with new data or a new identity.
 */
async function recordFailure(
  db: WorkDb,
  view: ViewDefinition,
  opts: { baseVersion: number; identity: string; started: Date; t0: number },
  error: string,
): Promise<ViewOutcome> {
  await db.run(
    `UPDATE ${META_SCHEMA}.views
     SET last_error = ?, last_error_at = ?::TIMESTAMPTZ, sql_hash = ?, attempted_version = ?, valid_until = NULL, stale = true
     WHERE name = ?`,
    [error, opts.started.toISOString(), opts.identity, opts.baseVersion, view.name],
  );
  await logRefresh(db, view.name, opts.started, null, error);
  return { name: view.name, status: 'failed', rowCount: null, durationMs: performance.now() - opts.t0, error };
}

async function logRefresh(db: WorkDb, name: string, started: Date, rows: number | null, error: string | null): Promise<void> {
  // The finish time comes from here, not DuckDB's now(): inside the refresh's transaction now() is
  // when the transaction began, which made every successful refresh last no time at all.
  await db.run(`INSERT INTO ${META_SCHEMA}.refresh_log VALUES (?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?, ?)`, [
    name,
    started.toISOString(),
    new Date().toISOString(),
    rows,
    error,
  ]);
}
