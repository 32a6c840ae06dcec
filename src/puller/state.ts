import { SCHEMA_VERSION, SELECT_META_SQL, META_SCHEMA, type SnapshotMeta } from '../shared/snapshot.js';
import type { WorkDb } from './work-db.js';

/**
 * The working database's `lattice.meta` row: what was last loaded (ETag, scan_version,
 * base_version, the payload's fingerprint) and the last generation published. It travels into
 * every published file, where the publisher stamps the new generation and published_at.
 */
export interface PullerState extends SnapshotMeta {
  /** sha256 of the body last loaded; null before the first load (or from an older puller). */
  payload_sha256: string | null;
  /** sha256 of the price table base.model_prices holds; null before the first tick. */
  prices_sha256: string | null;
}

const EMPTY: PullerState = {
  generation: 0,
  published_at: '',
  schema_version: SCHEMA_VERSION,
  scan_version: null,
  etag: null,
  upstream_generated_at: null,
  base_version: 0,
  session_count: 0,
  rejected_rows: 0,
  timezone: null,
  payload_sha256: null,
  prices_sha256: null,
};

export async function readState(db: WorkDb): Promise<PullerState> {
  // One read per tick, a 304 tick's included: the shared identity columns plus the puller's own.
  const [row] = await db.rows<PullerState>(
    `SELECT m.*, own.payload_sha256, own.prices_sha256
     FROM (${SELECT_META_SQL}) AS m, (SELECT payload_sha256, prices_sha256 FROM ${META_SCHEMA}.meta LIMIT 1) AS own`,
  );
  if (row) return row;
  await db.run(
    `INSERT INTO ${META_SCHEMA}.meta (generation, schema_version, base_version, session_count, rejected_rows)
     VALUES (0, ?, 0, 0, 0)`,
    [SCHEMA_VERSION],
  );
  return { ...EMPTY };
}

export interface LoadStamp {
  etag: string | null;
  scanVersion: number | null;
  upstreamGeneratedAt: number | null;
  /** sha256 of the body the tables are loaded from. */
  fingerprint: string;
  sessionCount: number;
  rejectedRows: number;
  /** Whether the base tables changed (a new base_version, so views come due); false when only the payload's header did. */
  changed: boolean;
}

/** Records a successful load; runs inside the load's transaction so ETag and data commit together. */
export async function recordLoad(db: WorkDb, stamp: LoadStamp): Promise<void> {
  await db.run(
    `UPDATE ${META_SCHEMA}.meta
     SET etag = ?, scan_version = ?, upstream_generated_at = ?, base_version = base_version + CASE WHEN ? THEN 1 ELSE 0 END, loaded_at = now(),
         session_count = ?, rejected_rows = ?, schema_version = ?, payload_sha256 = ?`,
    [stamp.etag, stamp.scanVersion, stamp.upstreamGeneratedAt, stamp.changed, stamp.sessionCount, stamp.rejectedRows, SCHEMA_VERSION, stamp.fingerprint],
  );
}

/**
 * Records that the transcripts changed base.messages; runs inside the transcripts' transaction, so
 * the views come due (a new base_version) and the change is published (loaded_at past
 * published_at) even when this tick's publish fails. Creates the row on a working database that has
 * had no tick yet (the transcripts can come first, before repo-recall ever answered).
 */
export async function recordMessagesLoaded(db: WorkDb): Promise<void> {
  await db.run(
    `INSERT INTO ${META_SCHEMA}.meta (generation, schema_version, base_version, session_count, rejected_rows)
     SELECT 0, ?, 0, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM ${META_SCHEMA}.meta)`,
    [SCHEMA_VERSION],
  );
  await db.run(`UPDATE ${META_SCHEMA}.meta SET base_version = base_version + 1, loaded_at = now()`);
}

/**
 * Keeps the ETag of a payload identical to the one loaded, for the next If-None-Match. Not a change
 * readers need: nothing is marked for publishing.
 */
export async function rememberEtag(db: WorkDb, etag: string | null): Promise<void> {
  await db.run(`UPDATE ${META_SCHEMA}.meta SET etag = ?`, [etag]);
}

/**
 * Whether repo-recall's payload has ever been loaded into this working database. Not base_version:
 * the transcripts move it too (recordMessagesLoaded), and may come first. Every load records the
 * payload's scan_version, which upstream must send.
 */
export function recallLoaded(state: Pick<PullerState, 'scan_version'>): boolean {
  return state.scan_version !== null;
}

export async function recordPublished(db: WorkDb, generation: number): Promise<void> {
  await db.run(`UPDATE ${META_SCHEMA}.meta SET generation = ?, published_at = now()`, [generation]);
}

/**
 * Whether the working database holds data readers have not been given: a load, a view
 * materialized, or a view's refresh error, after the last publish. A tick whose publish failed leaves these behind while its
 * load (and ETag) committed, so the next tick must publish even when upstream answers 304.
 */
export async function hasUnpublishedChanges(db: WorkDb): Promise<boolean> {
  const pending = await db.value<boolean>(`
    SELECT m.published_at IS NULL
           OR m.loaded_at > m.published_at
           OR EXISTS (SELECT 1 FROM ${META_SCHEMA}.views v
                      WHERE v.materialized_at > m.published_at OR v.last_error_at > m.published_at)
    FROM ${META_SCHEMA}.meta m`);
  return pending === true;
}
