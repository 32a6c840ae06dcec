import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';

/** Opens a published file read-only, runs one query, closes everything (the lock goes with it). */
export async function queryFile<T = Record<string, unknown>>(path: string, sql: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  try {
    const conn = await instance.connect();
    try {
      const reader = await conn.runAndReadAll(sql);
      return reader.getRowObjectsJson() as unknown as T[];
    } finally {
      conn.disconnectSync();
    }
  } finally {
    instance.closeSync();
  }
}

export async function publishedGenerationOf(path: string): Promise<number> {
  const [row] = await queryFile<{ generation: number }>(path, 'SELECT generation::DOUBLE AS generation FROM lattice.meta');
  return row?.generation ?? 0;
}

/** sha256 of a file's bytes: "left byte for byte as it was". */
export async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}
