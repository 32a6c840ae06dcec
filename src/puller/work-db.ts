import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { EFFECTIVE_DUCKDB_SQL, EffectiveDuckDbSchema, type EffectiveDuckDb } from '../shared/duckdb-settings.js';
import { PullerLockedError } from '../shared/errors.js';

const LOCK_HOLDER = /Conflicting lock is held in .*? \(PID (\d+)\)/;

/**
 * The puller's private working database, held read-write for the puller's whole life. DuckDB's
 * file lock on it is also what keeps a second puller out of the same home.
 *
 * Never open, read or copy work.duckdb any other way from this process: closing any descriptor of
 * a file drops every POSIX lock the process holds on it, DuckDB's write lock included.
 *
 * The handle knows no table: `open` is given their DDL. The modules that own the tables use this
 * handle, so the list of them is above both, in work-schema.ts (`openWorkDb`).
 */
export class WorkDb {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
    readonly path: string,
    /** The catalog name DuckDB gives the working database (from its file name). */
    readonly catalogName: string,
    /** memory_limit and threads as DuckDB reports them, read back at open. */
    readonly effective: EffectiveDuckDb,
  ) {}

  /** `ddl`: run at every open, so each statement is idempotent (`IF NOT EXISTS`). `options`: more DuckDB instance options (memory_limit, threads: src/shared/duckdb-settings.ts). */
  static async open(path: string, home: string, ddl: readonly string[], options: Record<string, string> = {}): Promise<WorkDb> {
    await mkdir(dirname(path), { recursive: true });
    let instance: DuckDBInstance;
    try {
      // A high checkpoint threshold keeps a load's COMMIT to a WAL append; the tick checkpoints
      // once, before the publish copies the file.
      instance = await DuckDBInstance.create(path, { preserve_insertion_order: 'false', checkpoint_threshold: '1GB', ...options });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const holder = LOCK_HOLDER.exec(message);
      if (holder || /Could not set lock/.test(message)) {
        const pid = holder ? Number(holder[1]) : null;
        throw new PullerLockedError(`another session-lattice puller${pid ? ` (PID ${pid})` : ''} is already running on ${home}`, pid);
      }
      throw err;
    }
    const conn = await instance.connect();
    try {
      const reader = await conn.runAndReadAll('SELECT current_database()');
      const catalogName = String(reader.getRowsJson()[0]?.[0] ?? 'work');
      const effective = EffectiveDuckDbSchema.parse((await conn.runAndReadAll(EFFECTIVE_DUCKDB_SQL)).getRowObjectsJson()[0]);
      for (const statement of ddl) await conn.run(statement);
      return new WorkDb(instance, conn, path, catalogName, effective);
    } catch (err) {
      conn.disconnectSync();
      instance.closeSync();
      throw err;
    }
  }

  async run(sql: string, params?: DuckDBValue[]): Promise<void> {
    await this.conn.run(sql, params);
  }

  /** Rows as JSON-friendly objects (cast BIGINTs in SQL where a number is wanted). */
  async rows<T>(sql: string, params?: DuckDBValue[]): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql, params);
    return reader.getRowObjectsJson() as unknown as T[];
  }

  async value<T>(sql: string, params?: DuckDBValue[]): Promise<T | null> {
    const reader = await this.conn.runAndReadAll(sql, params);
    const row = reader.getRowsJson()[0];
    return row === undefined ? null : (row[0] as unknown as T);
  }

  /** Runs `body` in a transaction, rolled back if it throws. */
  async transaction<T>(body: () => Promise<T>): Promise<T> {
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const result = await body();
      await this.conn.run('COMMIT');
      return result;
    } catch (err) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Stops the statement in flight (used on shutdown). */
  interrupt(): void {
    this.conn.interrupt();
  }

  /** Releases the write lock: every connection disconnected, then the instance closed. */
  close(): void {
    this.conn.disconnectSync();
    this.instance.closeSync();
  }
}
