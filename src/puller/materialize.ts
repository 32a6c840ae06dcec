import { createHash } from 'node:crypto';
import type { ViewDefinition } from '../shared/catalog/index.js';
import { errorMessage } from '../shared/errors.js';
import { META_SCHEMA, REFRESH_LOG_LIMIT, sqlIdentifier, VIEW_SCHEMA } from '../shared/snapshot.js';
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
}

export function sqlHash(sql: string): string {
  return createHash('sha256').update(sql).digest('hex').slice(0, 16);
}

/**
 * Whether a view should be (re)computed now: never materialized, its SQL changed, or base data
 * moved past its watermark and its refresh interval has passed since its last attempt.
 */
export function isDue(view: ViewDefinition, stored: StoredView | undefined, baseVersion: number, nowEpoch: number): boolean {
  if (!stored) return true;
  // A changed definition (also one fixing a view that never succeeded) is due at once.
  if (stored.sql_hash !== sqlHash(view.sql)) return true;
  if (stored.materialized_epoch === null) {
    // Never succeeded: retry once per interval after a failure.
    return stored.error_epoch === null || nowEpoch - stored.error_epoch >= view.refreshIntervalSeconds;
  }
  if (stored.watermark === baseVersion) return false;
  const lastAttempt = Math.max(stored.materialized_epoch, stored.error_epoch ?? 0);
  return nowEpoch - lastAttempt >= view.refreshIntervalSeconds;
}

async function storedViews(db: WorkDb): Promise<Map<string, StoredView>> {
  const rows = await db.rows<StoredView>(`
    SELECT name, description, refresh_interval_seconds, key_columns, sql_hash,
           epoch(materialized_at) AS materialized_epoch,
           epoch(last_error_at) AS error_epoch,
           watermark::DOUBLE AS watermark
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
 * previous table, records its error, and does not stop the others.
 */
export async function materializeDueViews(
  db: WorkDb,
  catalog: readonly ViewDefinition[],
  opts: { baseVersion: number; scanVersion: number | null; nowEpoch: number; signal?: AbortSignal },
): Promise<ViewOutcome[]> {
  const stored = await storedViews(db);
  await syncCatalog(db, catalog, stored);
  const outcomes: ViewOutcome[] = [];
  for (const view of catalog) {
    const before = stored.get(view.name);
    if (!isDue(view, before, opts.baseVersion, opts.nowEpoch)) continue;
    opts.signal?.throwIfAborted();
    outcomes.push(await materializeView(db, view, opts));
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
  opts: { baseVersion: number; scanVersion: number | null; signal?: AbortSignal },
): Promise<ViewOutcome> {
  const started = new Date();
  const t0 = performance.now();
  const table = `${VIEW_SCHEMA}.${sqlIdentifier(view.name)}`;
  try {
    const rowCount = await db.transaction(async () => {
      await db.run(`CREATE OR REPLACE TABLE ${table} AS ${view.sql}`);
      const count = (await db.value<number>(`SELECT count(*)::DOUBLE FROM ${table}`)) ?? 0;
      const durationMs = performance.now() - t0;
      await db.run(
        `UPDATE ${META_SCHEMA}.views
         SET sql_hash = ?, materialized_at = ?::TIMESTAMPTZ, row_count = ?, watermark = ?, scan_version = ?,
             last_duration_ms = ?, last_error = NULL, last_error_at = NULL
         WHERE name = ?`,
        [sqlHash(view.sql), started.toISOString(), count, opts.baseVersion, opts.scanVersion, durationMs, view.name],
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
    const error = errorMessage(err).split('\n')[0] ?? 'unknown error';
    // The attempted definition is recorded too, so that changing it again makes the view due.
    await db.run(`UPDATE ${META_SCHEMA}.views SET last_error = ?, last_error_at = ?::TIMESTAMPTZ, sql_hash = ? WHERE name = ?`, [
      error,
      started.toISOString(),
      sqlHash(view.sql),
      view.name,
    ]);
    await logRefresh(db, view.name, started, null, error);
    return {
      name: view.name,
      status: 'failed',
      rowCount: null,
      durationMs: performance.now() - t0,
      error,
    };
  }
}

async function logRefresh(db: WorkDb, name: string, started: Date, rows: number | null, error: string | null): Promise<void> {
  await db.run(
    `INSERT INTO ${META_SCHEMA}.refresh_log VALUES (?, ?::TIMESTAMPTZ, now(), ?, ?)`,
    [name, started.toISOString(), rows, error],
  );
}
