import type { Agent } from 'undici';
import type { ViewDefinition } from '../shared/catalog/index.js';
import type { Config } from '../shared/config.js';
import type { ErrorCodeName } from '../shared/error-registry.js';
import { errorCodeOf, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { homePaths, type HomePaths } from '../shared/paths.js';
import { duckdbInstanceOptions } from '../shared/duckdb-settings.js';
import { META_SCHEMA } from '../shared/snapshot.js';
import { readSnapshotInfo } from '../shared/snapshot-file.js';
import { VERSION } from '../shared/version.js';
import { removeLeftovers } from './cleanup.js';
import { upstreamAgent, type FetchProgress } from './fetch.js';
import { UpstreamError } from './upstream-error.js';
import { untilReachable } from './reachability.js';
import { heldPayloadReport, readHeld } from './held-payload.js';
import { readState } from './state.js';
import { loadPriceTable } from './prices.js';
import { Recorder } from './recorder.js';
import { initialStatus, StatusWriter } from './status-writer.js';
import { ElementIndex } from './element-index.js';
import { runTick, SourcesFailed, type TickDeps, type TickReport } from './tick.js';
import { TickObserver, type TickFailure } from './tick-observer.js';
import type { TranscriptsDeps } from './sources/transcripts.js';
import { ingestTranscripts, resolveTranscriptDirectories } from './transcripts/index.js';
import { checkTimezone, type ViewInputs } from './view-inputs.js';
import type { WorkDb } from './work-db.js';
import { openWorkDbRecovering, removeBrokenCopies } from './work-db-recovery.js';
import { afterFatal, fatalFailure, type FatalCause } from './fatal-errors.js';
import { readPullerStatus } from '../shared/status.js';

export type TickResult = { ok: true; report: TickReport } | { ok: false; error: string; code: ErrorCodeName };

export interface PullerOptions {
  config: Config;
  catalog: readonly ViewDefinition[];
  logger: Logger;
  onProgress?: (progress: FetchProgress) => void;
  /** Told before each retry of a failed upstream request (for a terminal's progress line). */
  onRetry?: (attempt: number, retries: number, reason: string, delayMs: number) => void;
  /** Load a payload the shrink guard would hold back (`pull --accept-shrink`). */
  acceptShrink?: boolean;
  /** A one-shot `pull`: bring every view up to what it loads, whatever the view's interval. */
  oneShot?: boolean;
}

/** The transcripts source's directories (resolved at each tick) and reader, or null when it is off. */
function transcriptsSource(config: Config): TranscriptsDeps['transcripts'] {
  const setting = config.transcripts;
  if (setting === 'off') return null;
  return { directories: () => resolveTranscriptDirectories(setting), ingest: ingestTranscripts };
}

/** Longest wait between ticks after repeated failures (unless the refresh interval is longer). */
const MAX_BACKOFF_SECONDS = 600;
/** The first wait after a failure: short, so data appears within seconds of upstream coming up. */
const FIRST_BACKOFF_SECONDS = 1;

/**
 * The wait before the next tick: the refresh interval after a success; after failures, a backoff
 * that starts at a second (or the interval, if shorter) and doubles per consecutive failure up to
 * ten minutes (or the interval, if longer), so a broken upstream is not hammered for hours.
 */
export function nextDelaySeconds(intervalSeconds: number, consecutiveFailures: number): number {
  if (consecutiveFailures === 0) return intervalSeconds;
  const first = Math.min(intervalSeconds, FIRST_BACKOFF_SECONDS);
  const grown = first * 2 ** Math.min(consecutiveFailures - 1, 20);
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
  /** The last tick failed because nothing answered at the upstream address. */
  private upstreamUnreachable = false;
  /** The loaded payload's element digests, read once and kept up to date by each load. */
  private readonly index = new ElementIndex();
  /** Set by a tick that failed with a fatal storage error: the loop ends and the process must exit. */
  private fatalError: { cause: FatalCause; error: string } | null = null;

  private constructor(
    readonly paths: HomePaths,
    private readonly db: WorkDb,
    private readonly agent: Agent,
    readonly status: StatusWriter,
    private readonly opts: PullerOptions,
    private readonly inputs: ViewInputs,
    private readonly recorder: Recorder,
    /** The transcripts source's directories and reader; null when it is off. */
    private readonly transcripts: TranscriptsDeps['transcripts'],
  ) {
    this.observer = new TickObserver(status, recorder, opts.logger, opts.config.repoRecallUrl);
  }

  /** Where every tick's outcome goes out from (status.json, events, metrics, the log). */
  private readonly observer: TickObserver;

  /** Takes the lock (or throws PullerLockedError), then cleans what a killed puller left. */
  static async open(opts: PullerOptions): Promise<Puller> {
    const paths = homePaths(opts.config.home);
    // A bad pricing file or zone stops the command before it touches anything.
    const inputs: ViewInputs = { timezone: opts.config.timezone, prices: await loadPriceTable(opts.config.pricingFile) };
    const { db, movedAside } = await openWorkDbRecovering(paths.workDb, paths.home, duckdbInstanceOptions(opts.config), opts.logger);
    try {
      // Only the lock holder may append: a refused second puller never touches the event log.
      const startedAt = new Date();
      const recorder = await Recorder.open(
        paths,
        opts.config,
        opts.catalog.map((v) => v.name),
        opts.logger,
        startedAt,
      );
      await checkTimezone((sql) => db.run(sql), inputs.timezone);
      const removed = await removeLeftovers(paths);
      if (removed.length > 0) opts.logger.info({ removed }, 'removed leftovers of an earlier puller');
      const state = await readState(db);
      // An unreadable published file counts as none: the next publish replaces it.
      const published = (await readSnapshotInfo(paths.published).catch(() => null))?.meta.generation ?? 0;
      if (published > state.generation) {
        // The working database is older than what readers have seen: never go backwards.
        await db.run(`UPDATE ${META_SCHEMA}.meta SET generation = ?`, [published]);
      }
      const previous = await readPullerStatus(paths.status).catch(() => null);
      const status = new StatusWriter(
        paths.status,
        { ...initialStatus(VERSION, opts.config.refreshIntervalSeconds, startedAt), ...afterFatal(previous) },
        (err) => opts.logger.error({ err: errorMessage(err) }, 'could not write status.json'),
      );
      if (movedAside) {
        opts.logger.info(
          { generation: published, moved_to: movedAside },
          'a fresh working database continues from the published generation; the next tick pulls in full',
        );
      }
      // A hold outlives the process that saw it (its count of ticks is in the working database).
      const held = await readHeld(db);
      const generation = Math.max(published, state.generation) || null;
      await status.update({
        generation,
        scan_version: state.scan_version,
        held_payload: held && heldPayloadReport(held, { sessions: state.session_count, scanVersion: state.scan_version }, opts.config.shrinkConfirmTicks),
        duckdb: db.effective,
      });
      await recorder.started(opts.config.refreshIntervalSeconds, generation);
      return new Puller(paths, db, upstreamAgent(opts.config.upstreamTimeoutSeconds), status, opts, inputs, recorder, transcriptsSource(opts.config));
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** One tick, told to the observer (status.json, events, metrics, the log). Never throws: failures are reported. */
  async tick(): Promise<TickResult> {
    const started = performance.now();
    await this.observer.started(new Date());
    try {
      const report = await runTick(this.tickDeps());
      this.upstreamUnreachable = report.repoRecall.kind === 'failed' && report.repoRecall.errorClass === 'unreachable';
      await this.observer.finished(report, this.nextDue(0));
      return { ok: true, report };
    } catch (err) {
      const failure = await this.failure(err, performance.now() - started);
      await this.observer.failed(failure, (failures) => this.nextDue(failures));
      if (failure.fatal?.cause === 'disk-full') {
        // Copies of a broken working database are the puller's own to free (work-db-recovery.ts).
        const freed = await removeBrokenCopies(this.paths.pullerDir).catch(() => []);
        if (freed.length > 0) this.opts.logger.warn({ removed: freed }, 'removed moved-aside working databases to free space');
      }
      return { ok: false, error: failure.error, code: failure.code };
    }
  }

  /** What a tick's error means: a stop, a fatal storage error (the loop ends), or a failure to try again. */
  private async failure(err: unknown, durationMs: number): Promise<TickFailure> {
    const interrupted = this.abort.signal.aborted;
    // Every source failed: their stages already threw any fatal error as it was.
    const sources = err instanceof SourcesFailed ? err : null;
    const fatal = interrupted || sources ? null : await fatalFailure(err, this.db.path, this.paths.home);
    // A fatal error ends the loop: this process must not tick again (src/puller/fatal-errors.ts).
    if (fatal) this.fatalError = { cause: fatal.cause, error: fatal.error };
    // What a stop makes a request throw is not upstream's doing, nor is our full disk under it.
    const errorClass = interrupted || fatal ? null : (sources?.errorClass ?? (err instanceof UpstreamError ? err.errorClass : null));
    this.upstreamUnreachable = errorClass === 'unreachable';
    return {
      error: interrupted ? 'interrupted by shutdown' : (fatal?.error ?? errorMessage(err)),
      code: interrupted ? 'interrupted' : fatal ? 'fatal_storage' : failureCode(err),
      errorClass,
      interrupted,
      fatal: fatal && { cause: fatal.cause, freeBytes: fatal.space?.freeBytes },
      probingUpstream: this.looping && this.upstreamUnreachable,
      stages: sources && { repoRecall: sources.repoRecall, transcripts: sources.transcripts },
      durationMs,
    };
  }

  private tickDeps(): TickDeps {
    const { config } = this.opts;
    return {
      db: this.db,
      index: this.index,
      agent: this.agent,
      paths: this.paths,
      catalog: this.opts.catalog,
      upstream: {
        baseUrl: config.repoRecallUrl,
        maxBytes: config.maxPayloadBytes,
        retries: config.upstreamRetries,
        deadlineSeconds: config.upstreamDeadlineSeconds,
        timeoutSeconds: config.upstreamTimeoutSeconds,
      },
      guard: { maxShrinkPercent: config.maxShrinkPercent, confirmTicks: config.shrinkConfirmTicks, acceptShrink: this.opts.acceptShrink === true },
      transcripts: this.transcripts,
      inputs: this.inputs,
      ignoreIntervals: this.opts.oneShot === true,
      signal: this.abort.signal,
      onProgress: this.opts.onProgress,
      onRetry: (attempt, reason, delayMs, errorClass) => {
        this.recorder.upstreamError(errorClass, reason, true);
        this.opts.logger.warn({ attempt, retries: config.upstreamRetries, reason, delay_ms: delayMs }, 'retrying repo-recall');
        this.opts.onRetry?.(attempt, config.upstreamRetries, reason, delayMs);
      },
    };
  }

  /**
   * Ticks until stop(): ticks never overlap, and the wait grows after consecutive failures. While
   * upstream is unreachable the wait also ends as soon as something accepts connections there.
   */
  async run(): Promise<void> {
    this.looping = true;
    while (!this.stopping) {
      await this.tick();
      if (this.stopping || this.fatalError) break;
      const delay = nextDelaySeconds(this.opts.config.refreshIntervalSeconds, this.status.status.consecutive_failures);
      const waited = new AbortController();
      const cameUp = this.upstreamUnreachable ? untilReachable(this.opts.config.repoRecallUrl, waited.signal) : null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay * 1000);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
        void cameUp?.then((up) => {
          if (!up || waited.signal.aborted) return;
          this.opts.logger.info({ repo_recall_url: this.opts.config.repoRecallUrl }, 'repo-recall is reachable again; pulling now');
          this.wake?.();
        });
      });
      waited.abort();
      this.wake = null;
    }
    this.looping = false;
  }

  /** The fatal storage error a tick ended with (the process must exit: FATAL_EXIT_CODE), or null. */
  get fatal(): { cause: FatalCause; error: string } | null {
    return this.fatalError;
  }

  /** When the next tick starts, written with the tick's outcome so status.json is never half updated. */
  private nextDue(consecutiveFailures: number): string | null {
    if (!this.looping) return null;
    const delay = nextDelaySeconds(this.opts.config.refreshIntervalSeconds, consecutiveFailures);
    return new Date(Date.now() + delay * 1000).toISOString();
  }

  /**
   * Asks a running loop to end: aborts the fetch, interrupts DuckDB, skips the wait. `reason`
   * (the signal, or 'shutdown') goes in the puller_stopping event, which close() waits for.
   */
  stop(reason = 'shutdown'): void {
    if (this.stopping) return;
    this.stopping = true;
    void this.recorder.stopping(reason);
    this.abort.abort();
    this.db.interrupt();
    this.wake?.();
  }

  /** Writes what is left of the event log, releases the DuckDB handle (and so the lock) and marks the status stopped. */
  async close(): Promise<void> {
    if (!this.stopping) {
      // Closed without stop(): a one-shot pull that is done, a fatal error, or a start that went no further.
      this.stopping = true;
      const reason = this.fatalError ? `fatal storage error (${this.fatalError.cause})` : this.opts.oneShot ? 'pull finished' : 'closed';
      void this.recorder.stopping(reason);
    }
    await this.recorder.flush();
    await this.agent.close().catch(() => undefined);
    this.db.close();
    await this.status.update({ state: 'stopped', next_tick_due_at: null });
  }
}

/**
 * The registry's code of a tick's error that is neither a stop nor fatal: every source failed
 * (repo-recall's own error speaks for them, as its message does), one of ours, or a step after the
 * sources that failed in DuckDB's or the system's words.
 */
function failureCode(err: unknown): ErrorCodeName {
  return errorCodeOf(err instanceof SourcesFailed ? err.repoRecall.cause : err, 'tick_failed');
}
