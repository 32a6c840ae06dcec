import { access } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { SELECT_META_SQL, SELECT_VIEWS_SQL, SnapshotMetaSchema, ViewStateSchema, type SnapshotMeta, type ViewState } from './snapshot.js';

export interface SnapshotInfo {
  meta: SnapshotMeta;
  views: ViewState[];
}

/**
 * Reads the identity (`lattice.meta`) and the per-view freshness (`lattice.views`) of the
 * published file: for the operator commands, and for the puller at start (so that it never
 * publishes a generation number readers have already seen). Read-only, always: one instance opened with
 * `access_mode: 'READ_ONLY'`, one connection, both closed before returning (no query is in flight
 * by then), so the file is never held beyond this call. Never through DuckDBInstance.fromCache
 * (keyed by path: it would hand back an older generation).
 *
 * Returns null when nothing is published yet; throws when the file exists but cannot be read.
 */
export async function readSnapshotInfo(path: string): Promise<SnapshotInfo | null> {
  try {
    await access(path);
  } catch {
    return null;
  }
  const instance = await DuckDBInstance.create(path, {
    access_mode: 'READ_ONLY',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  try {
    const conn = await instance.connect();
    try {
      // Nothing may spill beside the published file (its default temp dir is `<file>.tmp`).
      await conn.run("SET temp_directory = ''");
      const [metaRow] = (await conn.runAndReadAll(SELECT_META_SQL)).getRowObjectsJson();
      if (!metaRow) throw new Error(`${path} has no lattice.meta row: not a session-lattice snapshot`);
      const meta = SnapshotMetaSchema.parse(metaRow);
      const views = ViewStateSchema.array().parse((await conn.runAndReadAll(SELECT_VIEWS_SQL)).getRowObjectsJson());
      return { meta, views };
    } finally {
      conn.disconnectSync();
    }
  } finally {
    instance.closeSync();
  }
}
