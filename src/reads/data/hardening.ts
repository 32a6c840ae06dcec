import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/**
 * How every DuckDB instance of the reads side is locked down: the in-process generations
 * (generations.ts, which run only our own view SQL) and the query workers (query-workers/, which
 * run an agent's SQL). One list, so the two cannot drift.
 *
 * Run on the first connection of an instance, before anything else; settings are global to the
 * instance, so later connections inherit them. Order matters:
 * - `temp_directory` first: its default is `<db>.tmp` beside the published file, under the home,
 *   and it cannot be changed once external access is off.
 * - `enable_external_access=false` before `disabled_filesystems` (it fails once the local file
 *   system is disabled). External access off still lets a query read the snapshot's own file
 *   (DuckDB adds the database path to `allowed_paths`, and `SET allowed_paths` cannot remove it):
 *   `read_blob('<the snapshot>')` returned its raw bytes. Disabling the LocalFileSystem refuses
 *   every path, that one included, while the tables of the already-open database keep being read
 *   through the handle DuckDB opened before (measured with @duckdb/node-api 1.5).
 * - `secret_directory` would otherwise show `~/.duckdb/stored_secrets` (an absolute path under
 *   the user's home) in `duckdb_settings()`; nothing can create a secret anyway.
 * - `lock_configuration` last, so no query can undo any of it.
 */
const HARDENING: readonly string[] = [
  "SET temp_directory = ''",
  'SET enable_external_access = false',
  "SET disabled_filesystems = 'LocalFileSystem'",
  "SET secret_directory = ''",
  'SET autoinstall_known_extensions = false',
  'SET autoload_known_extensions = false',
  'SET lock_configuration = true',
];

/**
 * A read-only instance on a published file with its first connection, hardened before anything
 * else can run on it: the one way the reads side opens a file. Closed again if hardening fails.
 */
export async function openHardened(path: string, options: Record<string, string>): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> {
  const instance = await DuckDBInstance.create(path, options);
  let conn: DuckDBConnection | null = null;
  try {
    conn = await instance.connect();
    for (const sql of HARDENING) await conn.run(sql);
    return { instance, conn };
  } catch (err) {
    conn?.disconnectSync();
    instance.closeSync();
    throw err;
  }
}

/** Options of a read-only instance on a published file; `memoryLimit` in DuckDB's syntax (`1GB`). */
export function readOnlyInstanceOptions(memoryLimit: string, threads?: number): Record<string, string> {
  return {
    access_mode: 'READ_ONLY',
    memory_limit: memoryLimit,
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    ...(threads !== undefined && { threads: String(threads) }),
  };
}
