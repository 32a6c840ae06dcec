import { access } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { META_SCHEMA } from '../shared/snapshot.js';

/**
 * The generation of the file currently published, or 0 when there is none (or it cannot be
 * read). Used at start so a puller whose working database was lost never publishes a generation
 * number readers have already seen.
 */
export async function publishedGeneration(path: string): Promise<number> {
  try {
    await access(path);
  } catch {
    return 0;
  }
  let instance: DuckDBInstance | null = null;
  try {
    instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    try {
      const reader = await conn.runAndReadAll(`SELECT max(generation)::DOUBLE FROM ${META_SCHEMA}.meta`);
      return Number(reader.getRowsJson()[0]?.[0] ?? 0);
    } finally {
      conn.disconnectSync();
    }
  } catch {
    return 0;
  } finally {
    instance?.closeSync();
  }
}
