import type { Config } from '../shared/config.js';
import { errorMessage } from '../shared/errors.js';
import type { NewPullerEvent } from '../shared/events.js';
import type { Logger } from '../shared/logger.js';
import type { HomePaths } from '../shared/paths.js';
import { VERSION } from '../shared/version.js';
import { EventLog } from './event-log.js';
import { PullerMetrics, type TickFigures } from './metrics.js';
import type { TickReport } from './tick.js';
import type { UpstreamErrorClass } from './upstream-error.js';

/** Longest error text an event carries: an upstream error body or a view's SQL error can be long. */
const MAX_ERROR_CHARS = 2000;

function boundedError(text: string): string {
  return text.length <= MAX_ERROR_CHARS ? text : `${text.slice(0, MAX_ERROR_CHARS - 1)}…`;
}

/** How a tick ended, for its tick_finished event and the metrics (built by tick-observer.ts). */
export interface FinishedTick extends TickFigures {
  error: string | null;
  errorClass: UpstreamErrorClass | null;
  /** The tick_finished event's per-source part; absent when the tick failed before its sources were done. */
  sources: Extract<NewPullerEvent, { type: 'tick_finished' }>['sources'];
}

/**
 * What the puller tells the world besides status.json: the event log (src/puller/event-log.ts) and
 * the metrics file (src/puller/metrics.ts). Neither may fail the puller: a write that fails is
 * logged, and an event log that cannot even be opened leaves the puller running without one.
 */
export class Recorder {
  private pending: Promise<void> = Promise.resolve();

  private constructor(
    private readonly events: EventLog | null,
    readonly metrics: PullerMetrics,
  ) {}

  /** Called with the lock held: the log's next id continues from what the files hold. */
  static async open(paths: HomePaths, config: Config, viewNames: readonly string[], logger: Logger, startedAt: Date): Promise<Recorder> {
    const logError = (what: string) => (err: unknown) => logger.error({ err: errorMessage(err) }, `could not write ${what}`);
    const events = await EventLog.open(paths, config.eventsLogBytes, logError('the event log')).catch((err: unknown) => {
      logger.error({ err: errorMessage(err), path: paths.events }, 'could not open the event log; running without it');
      return null;
    });
    return new Recorder(events, new PullerMetrics(paths.metrics, viewNames, startedAt, logError('metrics.json')));
  }

  private append(event: NewPullerEvent): Promise<void> {
    if (this.events) this.pending = this.events.append(event);
    return this.pending;
  }

  /** puller_started, and the first metrics file (so /metrics has figures before the first tick ends). */
  async started(refreshIntervalSeconds: number, generation: number | null): Promise<void> {
    this.metrics.setGeneration(generation);
    await Promise.all([
      this.append({ type: 'puller_started', version: VERSION, refresh_interval_seconds: refreshIntervalSeconds, generation }),
      this.metrics.write(),
    ]);
  }

  tickStarted(): void {
    void this.append({ type: 'tick_started' });
  }

  /** A failed upstream attempt: retried within the tick, or the one the tick fails with. */
  upstreamError(errorClass: UpstreamErrorClass, error: string, willRetry: boolean): void {
    this.metrics.upstreamError(errorClass);
    void this.append({ type: 'upstream_error', error_class: errorClass, error: boundedError(error), will_retry: willRetry });
  }

  /**
   * What a tick that did not fail changed, before its status is written: views that failed or
   * recovered (had an error in `viewErrors`, status.json's, and refreshed now), and the generation
   * it published.
   */
  async tickChanges(report: TickReport, viewErrors: Readonly<Record<string, string>>): Promise<void> {
    for (const view of report.views) {
      if (view.status === 'failed') void this.append({ type: 'view_failed', view: view.name, error: boundedError(view.error ?? 'failed') });
      else if (Object.hasOwn(viewErrors, view.name)) void this.append({ type: 'view_recovered', view: view.name });
    }
    if (report.published) {
      const { bytes, sessions } = report.published;
      void this.append({ type: 'generation_published', generation: report.generation, bytes, sessions, scan_version: report.scanVersion });
    }
    await this.pending;
  }

  /**
   * The end of a tick, once status.json says it: the metrics file first, then tick_finished, so a
   * reader that sees the event finds both files already telling the same story.
   */
  async tickFinished(t: FinishedTick): Promise<void> {
    this.metrics.tick(t);
    await this.metrics.write();
    await this.append({
      type: 'tick_finished',
      outcome: t.outcome,
      duration_ms: round(t.durationMs),
      phases_ms: Object.fromEntries(Object.entries(t.phasesMs).map(([phase, ms]) => [phase, round(ms)])),
      generation: t.generation,
      sessions: t.sessions,
      rejected_rows: t.rejected,
      bytes: t.bytes,
      error: t.error === null ? null : boundedError(t.error),
      error_code: t.errorCode,
      error_class: t.errorClass,
      consecutive_failures: t.consecutiveFailures,
      ...(t.sources ? { sources: t.sources } : {}),
    });
  }

  stopping(reason: string): Promise<void> {
    return this.append({ type: 'puller_stopping', reason });
  }

  /** Resolves once every event asked for so far is written (or its failure logged). */
  flush(): Promise<void> {
    return this.pending;
  }
}

/** Milliseconds to a tenth: what a person or a chart can use, without float noise in every line. */
function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
