import type { Agent } from 'undici';
import type { ViewDefinition } from '../shared/catalog/index.js';
import type { Config } from '../shared/config.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { homePaths, type HomePaths } from '../shared/paths.js';
import { META_SCHEMA } from '../shared/snapshot.js';
import { readSnapshotInfo } from '../shared/snapshot-file.js';
import { VERSION } from '../shared/version.js';
import { removeLeftovers } from './cleanup.js';
import { upstreamAgent, type FetchProgress } from './fetch.js';
import { readState } from './state.js';
import { initialStatus, StatusWriter } from './status-writer.js';
import { runTick, type TickReport } from './tick.js';
import { WorkDb } from './work-db.js';

export interface PullerOptions {
  config: Config;
  catalog: readonly ViewDefinition[];
  logger: Logger;
  onProgress?: (progress: FetchProgress) => void;
}

/** Longest wait between ticks after repeated failures. */
const MAX_BACKOFF_SECONDS = 600;

/** The wait before the next tick: the interval, doubled per consecutive failure, capped. */
export function nextDelaySeconds(intervalSeconds: number, consecutiveFailures: number): number {
  if (consecutiveFailures === 0) return intervalSeconds;
  const grown = intervalSeconds * 2 ** Math.min(consecutiveFailures, 16);
  return Math.min(grown, Math.max(intervalSeconds, MAX_BACKOFF_SECONDS));
}

/**
 * The puller: holds the working database (and with it the single-writer lock) from open() to
 * close(), and runs ticks one at a time.
 */
export class Puller {
  private readonly abort = new AbortController();
  private stopping = false;
  /** Set while run() loops: each tick's final status then also says when the next one is due. */
  private looping = false;
  private wake: (() => void) | null = null;

  private constructor(
    readonly paths: HomePaths,
    private readonly db: WorkDb,
    private readonly agent: Agent,
    readonly status: StatusWriter,
    private readonly opts: PullerOptions,
  ) {}

  /** Takes the lock (or throws PullerLockedError), then cleans what a killed puller left. */
  static async open(opts: PullerOptions): Promise<Puller> {
    const paths = homePaths(opts.config.home);
    const db = await WorkDb.open(paths.workDb, paths.home);
    try {
      const removed = await removeLeftovers(paths);
      if (removed.length > 0) opts.logger.info({ removed }, 'removed leftovers of an earlier puller');
      const state = await readState(db);
      // An unreadable published file counts as none: the next publish replaces it.
      const published = (await readSnapshotInfo(paths.published).catch(() => null))?.meta.generation ?? 0;
      if (published > state.generation) {
        // The working database is older than what readers have seen: never go backwards.
        await db.run(`UPDATE ${META_SCHEMA}.meta SET generation = ?`, [published]);
      }
      const status = new StatusWriter(paths.status, initialStatus(VERSION, opts.config.refreshIntervalSeconds), (err) =>
        opts.logger.error({ err: errorMessage(err) }, 'could not write status.json'),
      );
      await status.update({ generation: Math.max(published, state.generation) || null, scan_version: state.scan_version });
      return new Puller(paths, db, upstreamAgent(opts.config.upstreamTimeoutSeconds), status, opts);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** One tick, with status and the summary log line. Never throws: failures are reported. */
  async tick(): Promise<{ ok: true; report: TickReport } | { ok: false; error: string }> {
    const started = new Date();
    const { logger, config } = this.opts;
    await this.status.update({ state: 'pulling', last_tick_started_at: started.toISOString(), next_tick_due_at: null });
    try {
      const report = await runTick({
        db: this.db,
        agent: this.agent,
        paths: this.paths,
        catalog: this.opts.catalog,
        upstream: { baseUrl: config.repoRecallUrl, maxBytes: config.maxPayloadBytes, retries: config.upstreamRetries },
        signal: this.abort.signal,
        onProgress: this.opts.onProgress,
        onRetry: (attempt, reason, delayMs) => logger.warn({ attempt, reason, delayMs }, 'retrying repo-recall'),
      });
      const viewErrors = Object.fromEntries(report.views.filter((v) => v.error).map((v) => [v.name, v.error ?? '']));
      const finished = new Date().toISOString();
      await this.status.update({
        state: 'idle',
        last_tick_finished_at: finished,
        last_tick_outcome: report.outcome,
        last_success_at: finished,
        consecutive_failures: 0,
        next_tick_due_at: this.nextDue(0),
        generation: report.generation,
        scan_version: report.scanVersion,
        rejected_rows: report.load ? report.load.rejected : this.status.status.rejected_rows,
        view_errors: { ...this.keepViewErrors(report), ...viewErrors },
      });
      for (const warning of report.warnings) logger.warn({ warning }, 'tick warning');
      logger.info(
        {
          tick: 'ok',
          outcome: report.outcome,
          generation: report.generation,
          upstream: report.upstream,
          scan_version: report.scanVersion,
          bytes: report.bytes,
          sessions: report.load?.sessions,
          rejected: report.load?.rejected,
          rejected_by: report.load && report.load.rejected > 0 ? report.load.rejectedBy : undefined,
          repaired_surrogates: report.repairedSurrogates || undefined,
          views_materialized: report.views.filter((v) => v.status === 'materialized').length,
          views_failed: report.views.filter((v) => v.status === 'failed').map((v) => v.name),
          phases_ms: Object.fromEntries(Object.entries(report.phases).map(([k, v]) => [k, Math.round(v)])),
          duration_ms: Math.round(report.durationMs),
          peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        },
        'tick',
      );
      return { ok: true, report };
    } catch (err) {
      const error = this.abort.signal.aborted ? 'interrupted by shutdown' : errorMessage(err);
      const finished = new Date().toISOString();
      await this.status.update({
        state: 'idle',
        last_tick_finished_at: finished,
        last_tick_outcome: 'failed',
        last_error: error,
        last_error_at: finished,
        consecutive_failures: this.status.status.consecutive_failures + 1,
        next_tick_due_at: this.nextDue(this.status.status.consecutive_failures + 1),
      });
      logger.error({ tick: 'failed', error, duration_ms: Date.now() - started.getTime() }, 'tick');
      return { ok: false, error };
    }
  }

  /** Views that were not attempted this tick keep their last reported error. */
  private keepViewErrors(report: TickReport): Record<string, string> {
    const attempted = new Set(report.views.map((v) => v.name));
    return Object.fromEntries(Object.entries(this.status.status.view_errors).filter(([name]) => !attempted.has(name)));
  }

  /** Ticks until stop(): ticks never overlap, and the wait grows after consecutive failures. */
  async run(): Promise<void> {
    this.looping = true;
    while (!this.stopping) {
      await this.tick();
      if (this.stopping) break;
      const delay = nextDelaySeconds(this.opts.config.refreshIntervalSeconds, this.status.status.consecutive_failures);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay * 1000);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    this.looping = false;
  }

  /** When the next tick starts, written with the tick's outcome so status.json is never half updated. */
  private nextDue(consecutiveFailures: number): string | null {
    if (!this.looping) return null;
    const delay = nextDelaySeconds(this.opts.config.refreshIntervalSeconds, consecutiveFailures);
    return new Date(Date.now() + delay * 1000).toISOString();
  }

  /** Asks a running loop to end: aborts the fetch, interrupts DuckDB, skips the wait. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.abort.abort();
    this.db.interrupt();
    this.wake?.();
  }

  /** Releases the DuckDB handle (and so the lock) and marks the status stopped. */
  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
    this.db.close();
    await this.status.update({ state: 'stopped', next_tick_due_at: null });
  }
}
