import { type DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import { duckdbInstanceOptions, EFFECTIVE_DUCKDB_SQL, EffectiveDuckDbSchema, type DuckDbSettings, type EffectiveDuckDb } from '../../shared/duckdb-settings.js';
import { SELECT_META_SQL, SELECT_VIEWS_SQL, SnapshotMetaSchema, VIEW_SCHEMA, ViewStateSchema, type SnapshotMeta, type ViewState } from '../../shared/snapshot.js';
import { QueryTimeoutError } from '../contract/errors.js';
import { openHardened, readOnlyInstanceOptions } from './hardening.js';
import type { QueryLimiter } from './query-limiter.js';


/**
 * One published generation: a read-only DuckDB instance on one published file, with its views
 * and meta read once, reference-counted so that it is closed only after its last query drained
 * (generations.ts decides which is current).
 */

export interface ColumnInfo {
  name: string;
  /** DuckDB's type name, e.g. `VARCHAR`, `BIGINT`, `BIGINT[]`. */
  type: string;
}

export interface ViewInfo extends ViewState {
  /** Empty when the view has no table yet. */
  columns: ColumnInfo[];
  /** False when the catalog lists the view but the snapshot holds no table for it yet. */
  materialized: boolean;
}

/**
 * Each generation is its own instance with its own buffer pool, and two are open during a switch;
 * a view read needs little. DuckDB's defaults (80% of RAM, every core) are not for a daemon on a
 * laptop: memory_limit and threads come from SESSION_LATTICE_MEMORY_LIMIT and _THREADS (spilling
 * is off with temp_directory='', so the limit is a hard one: a read past it fails, cleanly).
 */
export function generationInstanceOptions(settings: DuckDbSettings): Record<string, string> {
  return readOnlyInstanceOptions(duckdbInstanceOptions(settings).memory_limit, settings.threads);
}

const SELECT_COLUMNS_SQL = `
  SELECT table_name, column_name, data_type
  FROM information_schema.columns
  WHERE table_schema = '${VIEW_SCHEMA}'
  ORDER BY table_name, ordinal_position`;

export interface WithConnectionOptions {
  /** The query is interrupted (connection.interrupt()) after this long. */
  timeoutMs: number;
}

const ColumnRowsSchema = z.array(z.object({ table_name: z.string(), column_name: z.string(), data_type: z.string() }));

/**
 * Rows the puller wrote (or DuckDB describes), checked against the contract: a snapshot from an
 * incompatible version is refused with what does not match, and the server reports it (healthz
 * reasons) instead of failing on a wrong type later. Also for rows read per request (the refresh
 * log), where a mismatch is that request's error.
 */
export function contractRows<T>(what: string, schema: z.ZodType<T>, rows: unknown): T {
  const parsed = schema.safeParse(rows);
  if (!parsed.success) throw new Error(`${what} does not match this version's snapshot format: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  return parsed.data;
}

export class Generation {
  private refs = 0;
  private retired = false;
  private closed = false;
  private readonly idle: DuckDBConnection[] = [];
  private drained: Array<() => void> = [];

  private constructor(
    /** dev:ino:size:mtime of the file when it was opened. */
    readonly fileId: string,
    readonly meta: SnapshotMeta,
    readonly views: ReadonlyMap<string, ViewInfo>,
    private readonly instance: DuckDBInstance,
    first: DuckDBConnection,
    private readonly limiter: QueryLimiter,
    readonly openMs: number,
    /** memory_limit and threads as DuckDB reports them, read back at open. */
    readonly duckdb: EffectiveDuckDb,
  ) {
    this.idle.push(first);
  }

  get generation(): number {
    return this.meta.generation;
  }

  /** Opens `path` read-only, hardens it, and reads its identity and catalog. */
  static async open(path: string, fileId: string, limiter: QueryLimiter, options: Record<string, string>): Promise<Generation> {
    const t0 = performance.now();
    const { instance, conn } = await openHardened(path, options);
    try {
      const [metaRow] = (await conn.runAndReadAll(SELECT_META_SQL)).getRowObjectsJson();
      if (!metaRow) throw new Error('lattice.meta is empty');
      const meta = contractRows('lattice.meta', SnapshotMetaSchema, metaRow);
      const states = contractRows('lattice.views', ViewStateSchema.array(), (await conn.runAndReadAll(SELECT_VIEWS_SQL)).getRowObjectsJson());
      const columnRows = contractRows('information_schema.columns', ColumnRowsSchema, (await conn.runAndReadAll(SELECT_COLUMNS_SQL)).getRowObjectsJson());
      const columns = new Map<string, ColumnInfo[]>();
      for (const r of columnRows) {
        const list = columns.get(r.table_name) ?? [];
        list.push({ name: r.column_name, type: r.data_type });
        columns.set(r.table_name, list);
      }
      const views = new Map<string, ViewInfo>();
      for (const s of states) {
        const cols = columns.get(s.name);
        views.set(s.name, { ...s, columns: cols ?? [], materialized: cols !== undefined });
      }
      const duckdb = EffectiveDuckDbSchema.parse((await conn.runAndReadAll(EFFECTIVE_DUCKDB_SQL)).getRowObjectsJson()[0]);
      return new Generation(fileId, meta, views, instance, conn, limiter, performance.now() - t0, duckdb);
    } catch (err) {
      conn.disconnectSync();
      instance.closeSync();
      throw err;
    }
  }

  /** Takes a reference; the instance stays open until every reference is released. */
  retain(): void {
    if (this.closed) throw new Error(`generation ${this.generation} is closed`);
    this.refs++;
  }

  release(): void {
    if (this.refs <= 0) throw new Error('release without retain');
    this.refs--;
    if (this.refs === 0 && this.retired) this.closeNow();
  }

  /** No new references after this; closes once the in-flight ones are released. */
  retire(): Promise<void> {
    this.retired = true;
    if (this.refs === 0) this.closeNow();
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /**
   * Runs `fn` on one of this generation's connections, holding one of the limiter's slots; the
   * query is interrupted after `timeoutMs` (and `signal` aborts, for work waiting on a client).
   * The caller must hold a reference (retain) for the duration.
   */
  async withConnection<T>(fn: (conn: DuckDBConnection, signal: AbortSignal) => Promise<T>, opts: WithConnectionOptions): Promise<T> {
    if (this.closed) throw new Error(`generation ${this.generation} is closed`);
    const releaseSlot = await this.limiter.acquire();
    let conn: DuckDBConnection | undefined;
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      conn?.interrupt();
      abort.abort(new QueryTimeoutError(opts.timeoutMs));
    }, opts.timeoutMs);
    try {
      conn = this.idle.pop() ?? (await this.instance.connect());
      return await fn(conn, abort.signal);
    } catch (err) {
      if (timedOut) throw new QueryTimeoutError(opts.timeoutMs);
      throw err;
    } finally {
      clearTimeout(timer);
      if (conn) this.idle.push(conn);
      releaseSlot();
    }
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.idle.splice(0)) c.disconnectSync();
    this.instance.closeSync();
    for (const resolve of this.drained.splice(0)) resolve();
  }
}
