import { type DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { errorMessage } from '../../shared/errors.js';
import { SELECT_META_SQL, sqlLiteral } from '../../shared/snapshot.js';
import { openHardened, readOnlyInstanceOptions } from '../data/hardening.js';
import { publishedFileId } from '../data/published-file.js';
import { SnapshotInfoSchema, type SnapshotInfo, type WorkerSettings } from './protocol.js';

/**
 * The generation a query worker holds: one read-only, hardened instance on the published file,
 * replaced when the file is (the path's dev/inode/size/times changed; checked before every query
 * and when the server says a new generation is current). A worker runs one query at a time, so
 * the old instance is never closed under a query.
 */

const SELECT_INFO_SQL = `
  SELECT m.*, (SELECT strftime(min(materialized_at) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') FROM lattice.views) AS materialized_at
  FROM (${SELECT_META_SQL}) AS m`;

type SnapshotState = { kind: 'open'; conn: DuckDBConnection; info: SnapshotInfo } | { kind: 'none' } | { kind: 'unavailable'; message: string };

interface Held {
  fileId: string;
  instance: DuckDBInstance;
  conn: DuckDBConnection;
  info: SnapshotInfo;
}

export class WorkerSnapshot {
  private held: Held | null = null;
  private failed: { fileId: string; message: string; at: number } | null = null;

  constructor(private readonly settings: WorkerSettings) {}

  get info(): SnapshotInfo | null {
    return this.held?.info ?? null;
  }

  /** The current generation, reopened first if the published file was replaced. */
  async current(): Promise<SnapshotState> {
    let fileId: string;
    try {
      fileId = await publishedFileId(this.settings.published);
    } catch {
      // Gone (or never there): keep serving what is open, as the server does.
      return this.held ? { kind: 'open', conn: this.held.conn, info: this.held.info } : { kind: 'none' };
    }
    // A file that failed to open is tried again after a second, as the server's generation manager does.
    const recentlyFailed = this.failed?.fileId === fileId && Date.now() - this.failed.at < 1000;
    if (this.held?.fileId !== fileId && !recentlyFailed) {
      try {
        const next = await this.open(fileId);
        this.close();
        this.held = next;
        this.failed = null;
      } catch (err) {
        this.failed = { fileId, message: errorMessage(err), at: Date.now() };
      }
    }
    if (this.held) return { kind: 'open', conn: this.held.conn, info: this.held.info };
    return this.failed ? { kind: 'unavailable', message: this.failed.message } : { kind: 'none' };
  }

  private async open(fileId: string): Promise<Held> {
    const { settings } = this;
    const { instance, conn } = await openHardened(settings.published, readOnlyInstanceOptions(`${settings.duckdbMemoryMb}MiB`, settings.threads));
    try {
      const [row] = (await conn.runAndReadAll(SELECT_INFO_SQL)).getRowObjectsJson();
      if (!row) throw new Error('lattice.meta is empty');
      // The puller wrote it: validated, not cast (zod drops the meta columns a result does not carry).
      const info = SnapshotInfoSchema.parse(row);
      // The views' SQL (docs/views.md) reads the zone from this variable: the same SQL runs here.
      if (info.timezone !== null) await conn.run(`SET VARIABLE timezone = ${sqlLiteral(info.timezone)}`);
      return { fileId, instance, conn, info };
    } catch (err) {
      conn.disconnectSync();
      instance.closeSync();
      throw err;
    }
  }

  close(): void {
    if (!this.held) return;
    this.held.conn.disconnectSync();
    this.held.instance.closeSync();
    this.held = null;
  }
}
