import { META_SCHEMA } from '../shared/snapshot.js';
import type { HeldPayload } from '../shared/status.js';
import type { WorkDb } from './work-db.js';

/**
 * The payload the shrink guard holds back, kept in the working database so that the count of
 * consecutive ticks survives a restart and works across one-shot `pull`s. The puller's own
 * bookkeeping: publishing drops the table from the copy, so no snapshot carries it.
 */
export const HELD_TABLE = `${META_SCHEMA}.held_payload`;

export const HELD_DDL = [
  `CREATE TABLE IF NOT EXISTS ${HELD_TABLE} (
     fingerprint VARCHAR NOT NULL,
     reasons VARCHAR[] NOT NULL,
     sessions BIGINT NOT NULL,
     scan_version BIGINT,
     seen_ticks INTEGER NOT NULL,
     first_seen_at TIMESTAMPTZ NOT NULL,
     last_seen_at TIMESTAMPTZ NOT NULL
   )`,
];

/** The held payload as the working database keeps it (status.json adds what it would replace). */
export type HeldRecord = Pick<HeldPayload, 'fingerprint' | 'reasons' | 'sessions' | 'scan_version' | 'seen_ticks' | 'first_seen_at'>;

export async function readHeld(db: WorkDb): Promise<HeldRecord | null> {
  const [row] = await db.rows<HeldRecord>(`
    SELECT fingerprint, reasons, sessions::DOUBLE AS sessions, scan_version::DOUBLE AS scan_version, seen_ticks,
           strftime(first_seen_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') AS first_seen_at
    FROM ${HELD_TABLE} LIMIT 1`);
  return row ?? null;
}

/** Records this tick's held payload; a different one than before starts its count (and its first-seen time) afresh. */
export async function recordHeld(db: WorkDb, held: Omit<HeldRecord, 'first_seen_at'>): Promise<HeldRecord> {
  const prior = await readHeld(db);
  const values = [JSON.stringify(held.reasons), held.sessions, held.scan_version, held.seen_ticks];
  if (prior?.fingerprint === held.fingerprint) {
    await db.run(`UPDATE ${HELD_TABLE} SET reasons = ?::JSON::VARCHAR[], sessions = ?, scan_version = ?, seen_ticks = ?, last_seen_at = now()`, values);
  } else {
    await db.transaction(async () => {
      await db.run(`DELETE FROM ${HELD_TABLE}`);
      await db.run(`INSERT INTO ${HELD_TABLE} VALUES (?, ?::JSON::VARCHAR[], ?, ?, ?, now(), now())`, [held.fingerprint, ...values]);
    });
  }
  const recorded = await readHeld(db);
  if (!recorded) throw new Error(`${HELD_TABLE} lost the row just written`);
  return recorded;
}

/** A held payload as status.json reports it, beside what readers keep seeing. */
export function heldPayloadReport(held: HeldRecord, loaded: { sessions: number; scanVersion: number | null }, confirmTicks: number): HeldPayload {
  const { fingerprint, reasons, sessions, scan_version, seen_ticks, first_seen_at } = held;
  return {
    reasons,
    sessions,
    scan_version,
    loaded_sessions: loaded.sessions,
    loaded_scan_version: loaded.scanVersion,
    seen_ticks,
    confirm_ticks: confirmTicks,
    first_seen_at,
    fingerprint,
  };
}

/** Upstream has moved on (a payload loaded, an identical one, a 304): nothing is held any more. */
export async function clearHeld(db: WorkDb): Promise<void> {
  await db.run(`DELETE FROM ${HELD_TABLE}`);
}
