/**
 * The snapshot format: what a published generation file contains, shared by the puller (which
 * writes it) and the reads server (which only reads it).
 *
 * - `main.<view>`: one table per catalog view, the materialized rows.
 * - `base.*`: the base tables loaded from upstream (for ad-hoc SQL and the `query` tool).
 * - `lattice.meta`: exactly one row, the identity of the generation.
 * - `lattice.views`: one row per catalog view: its description, refresh interval, freshness, last
 *   error, and whether its rows are stale.
 * - `lattice.refresh_log`: the most recent materializations (bounded).
 */
import { z } from 'zod';

export const SCHEMA_VERSION = 1;

export const VIEW_SCHEMA = 'main';
export const BASE_SCHEMA = 'base';
export const META_SCHEMA = 'lattice';

/** The identity row (`lattice.meta`) as SELECT_META_SQL reads it: validated wherever a file is read. */
export const SnapshotMetaSchema = z.object({
  generation: z.number().int().min(0),
  /** ISO-8601 UTC. */
  published_at: z.string(),
  schema_version: z.number().int(),
  scan_version: z.number().int().nullable(),
  etag: z.string().nullable(),
  /** Upstream's generated_at (unix seconds), if it sent one. */
  upstream_generated_at: z.number().int().nullable(),
  /** Increments on every successful load of base tables: the watermark views are stamped with. */
  base_version: z.number().int().min(0),
  session_count: z.number().int().min(0),
  rejected_rows: z.number().int().min(0),
  /** The IANA zone the calendar views were materialized in; null in files from before zones. */
  timezone: z.string().nullable(),
});
export type SnapshotMeta = z.infer<typeof SnapshotMetaSchema>;

/** One row of `lattice.views` as SELECT_VIEWS_SQL reads it. */
export const ViewStateSchema = z.object({
  name: z.string(),
  description: z.string(),
  /** 0: refreshed with every load. */
  refresh_interval_seconds: z.number().min(0),
  key_columns: z.array(z.string()),
  /** ISO-8601 UTC; null until the view has been materialized once. */
  materialized_at: z.string().nullable(),
  row_count: z.number().int().nullable(),
  /** base_version the current rows were computed from. */
  watermark: z.number().int().nullable(),
  /** Upstream scan_version the current rows were computed from. */
  scan_version: z.number().int().nullable(),
  last_duration_ms: z.number().nullable(),
  last_error: z.string().nullable(),
  last_error_at: z.string().nullable(),
  /**
   * The view's last refresh failed (its own SQL, or a view it reads failed), so its rows, if any,
   * are from an earlier load than the views that did refresh: the generation's views disagree.
   */
  stale: z.boolean(),
});
export type ViewState = z.infer<typeof ViewStateSchema>;

/** A name (a view, a column) as a quoted SQL identifier. */
export function sqlIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string as a SQL literal (for the few places DuckDB takes no parameter, like ATTACH paths). */
export function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Rows kept in `lattice.refresh_log`; older entries are dropped. */
export const REFRESH_LOG_LIMIT = 1000;

/** DDL of the meta tables, in the working database and therefore in every published file. */
export const META_DDL = [
  `CREATE SCHEMA IF NOT EXISTS ${META_SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.meta (
     generation BIGINT NOT NULL,
     published_at TIMESTAMPTZ,
     schema_version INTEGER NOT NULL,
     scan_version BIGINT,
     etag VARCHAR,
     upstream_generated_at BIGINT,
     base_version BIGINT NOT NULL,
     session_count BIGINT NOT NULL,
     rejected_rows BIGINT NOT NULL,
     -- when the base tables were last loaded (the puller publishes whatever is newer than published_at)
     loaded_at TIMESTAMPTZ
   )`,
  `ALTER TABLE ${META_SCHEMA}.meta ADD COLUMN IF NOT EXISTS loaded_at TIMESTAMPTZ`,
  // sha256 of the upstream body the base tables were loaded from: an identical body is no change.
  `ALTER TABLE ${META_SCHEMA}.meta ADD COLUMN IF NOT EXISTS payload_sha256 VARCHAR`,
  // The view inputs (src/puller/view-inputs.ts) the views were last materialized with.
  `ALTER TABLE ${META_SCHEMA}.meta ADD COLUMN IF NOT EXISTS timezone VARCHAR`,
  `ALTER TABLE ${META_SCHEMA}.meta ADD COLUMN IF NOT EXISTS prices_sha256 VARCHAR`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.views (
     name VARCHAR PRIMARY KEY,
     description VARCHAR NOT NULL,
     refresh_interval_seconds DOUBLE NOT NULL,
     key_columns VARCHAR[] NOT NULL,
     sql_hash VARCHAR,
     materialized_at TIMESTAMPTZ,
     row_count BIGINT,
     watermark BIGINT,
     scan_version BIGINT,
     last_duration_ms DOUBLE,
     last_error VARCHAR,
     last_error_at TIMESTAMPTZ
   )`,
  // base_version of the last attempt, successful or not: a failed view waits for new data.
  `ALTER TABLE ${META_SCHEMA}.views ADD COLUMN IF NOT EXISTS attempted_version BIGINT`,
  // When the rows stop being true by the clock alone (an active usage block ends); NULL: never.
  `ALTER TABLE ${META_SCHEMA}.views ADD COLUMN IF NOT EXISTS valid_until TIMESTAMPTZ`,
  // true when the last refresh failed and the rows (if any) are from an earlier load: said in the
  // file itself, so a reader of the generation need not know the rule. NULL until first tried.
  `ALTER TABLE ${META_SCHEMA}.views ADD COLUMN IF NOT EXISTS stale BOOLEAN`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.refresh_log (
     view_name VARCHAR NOT NULL,
     started_at TIMESTAMPTZ NOT NULL,
     finished_at TIMESTAMPTZ NOT NULL,
     row_count BIGINT,
     error VARCHAR
   )`,
];

/** Reads the identity row; timestamps come back as ISO strings, big integers as numbers. */
export const SELECT_META_SQL = `
  SELECT generation::DOUBLE AS generation,
         strftime(published_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') AS published_at,
         schema_version,
         scan_version::DOUBLE AS scan_version,
         etag,
         upstream_generated_at::DOUBLE AS upstream_generated_at,
         base_version::DOUBLE AS base_version,
         session_count::DOUBLE AS session_count,
         rejected_rows::DOUBLE AS rejected_rows,
         -- by name through the row: a file published before zones has no such column (NULL)
         to_json(m) ->> 'timezone' AS timezone
  FROM ${META_SCHEMA}.meta m
  LIMIT 1`;

export const SELECT_VIEWS_SQL = `
  SELECT name, description, refresh_interval_seconds, key_columns,
         strftime(materialized_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') AS materialized_at,
         row_count::DOUBLE AS row_count,
         watermark::DOUBLE AS watermark,
         scan_version::DOUBLE AS scan_version,
         last_duration_ms,
         last_error,
         strftime(last_error_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') AS last_error_at,
         -- by name through the row: a file published before the column has none; its rule was the same
         -- (a failed view kept its previous rows), so it is worked out from last_error there
         coalesce((to_json(v) ->> 'stale')::BOOLEAN, last_error IS NOT NULL OR materialized_at IS NULL) AS stale
  FROM ${META_SCHEMA}.views v
  ORDER BY name`;

/** One row of `lattice.refresh_log` as SELECT_REFRESHES_SQL reads it: one materialization attempt. */
export const RefreshLogRowSchema = z.object({
  view_name: z.string(),
  /** ISO-8601 UTC. */
  started_at: z.string(),
  finished_at: z.string(),
  duration_ms: z.number(),
  /** Null when the attempt failed. */
  row_count: z.number().int().nullable(),
  /** Null when the attempt succeeded. */
  error: z.string().nullable(),
});

/**
 * The refresh log, most recent first; `$1`: one view's name or NULL for all, `$2`: at most this many.
 * Bound, never spliced: the view name comes from a client. The duration is computed here, to the
 * microsecond DuckDB keeps, rather than from the millisecond strings.
 */
export const SELECT_REFRESHES_SQL = `
  SELECT view_name,
         strftime(started_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') AS started_at,
         strftime(finished_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') AS finished_at,
         date_diff('microsecond', started_at, finished_at)::DOUBLE / 1000 AS duration_ms,
         row_count::DOUBLE AS row_count,
         error
  FROM ${META_SCHEMA}.refresh_log
  WHERE $1::VARCHAR IS NULL OR view_name = $1::VARCHAR
  ORDER BY started_at DESC, view_name
  LIMIT $2`;
