import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ErrorCodeName } from '../shared/error-registry.js';
import { TICK_ERROR_CODES, TICK_OUTCOMES, TICK_PHASES, UPSTREAM_ERROR_CLASSES } from '../shared/events.js';
import { AtomicJsonFile } from './atomic-json.js';
import type { ViewOutcome } from './materialize.js';
import type { UpstreamErrorClass } from './upstream-error.js';

/**
 * The puller's cumulative figures, written to `puller/metrics.json` (the format:
 * src/shared/puller-metrics.ts) for the reads server's GET /metrics. A Registry of its own, never
 * prom-client's global one: nothing else (a library, the reads server in `serve`) can add to or
 * read from it by accident. Every label value is from a fixed set (outcomes, phases, error classes,
 * the catalog's view names), so the number of series is bounded whatever upstream sends.
 */

/** 1 ms .. 10 min: a 304 tick or a small view takes milliseconds, a big load minutes. */
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const PREFIX = 'session_lattice_puller_';

/** The sources a tick reads, as metric labels. */
const SOURCES = ['repo-recall', 'transcripts'] as const;
export type SourceName = (typeof SOURCES)[number];

/** What the transcripts source read in a tick (none when it is off or failed). */
export interface TranscriptFigures {
  files: number;
  messages: number;
  added: number;
  updated: number;
  bytesRead: number;
  skippedMalformed: number;
  skippedOversized: number;
}

/** What one tick (or one failed tick) adds to the figures. */
export interface TickFigures {
  outcome: (typeof TICK_OUTCOMES)[number];
  durationMs: number;
  /** Phases the tick did not reach are 0 or absent, and not observed. */
  phasesMs: Partial<Record<(typeof TICK_PHASES)[number], number>>;
  sessions: number | null;
  rejected: number | null;
  bytes: number | null;
  /** Bytes the tick made the system write to storage; null where the system does not say. */
  writeBytes: number | null;
  views: readonly ViewOutcome[];
  /** The generation published after the tick; null while none is. */
  generation: number | null;
  consecutiveFailures: number;
  /** Set when the tick counts as a success for the data's age (published or unchanged, not held or failed). */
  succeededAt: Date | null;
  /** A failed tick's code in the error registry; null when it did not fail. */
  errorCode: ErrorCodeName | null;
  /** The sources that failed in this tick (whether or not the tick went on without them). */
  failedSources: readonly SourceName[];
  transcripts: TranscriptFigures | null;
}

export type MetricsDocument = {
  pid: number;
  started_at: string;
  written_at: string;
  metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
};

export class PullerMetrics {
  readonly registry = new Registry();
  private readonly views: ReadonlySet<string>;
  private readonly file: AtomicJsonFile;
  private writing: Promise<void> = Promise.resolve();

  private readonly ticks = new Counter({
    name: `${PREFIX}ticks_total`,
    help: 'Ticks finished, by outcome.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly tickSeconds = new Histogram({
    name: `${PREFIX}tick_duration_seconds`,
    help: 'Time per tick phase (fetch, load, views, publish, checkpoint) and per whole tick (total), in seconds. A phase a tick did not reach is not observed.',
    labelNames: ['phase'],
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly rowsLoaded = new Counter({
    name: `${PREFIX}rows_loaded_total`,
    help: 'Sessions loaded from upstream payloads.',
    registers: [this.registry],
  });
  private readonly rowsRejected = new Counter({ name: `${PREFIX}rows_rejected_total`, help: 'Payload rows skipped as invalid.', registers: [this.registry] });
  private readonly bytesWritten = new Counter({
    name: `${PREFIX}bytes_written_total`,
    help: 'Bytes the ticks that did not fail made the system write to storage (Linux /proc/self/io; 0 elsewhere).',
    registers: [this.registry],
  });
  private readonly bytesPulled = new Counter({
    name: `${PREFIX}bytes_pulled_total`,
    help: 'Payload bytes received from upstream by ticks that did not fail.',
    registers: [this.registry],
  });
  private readonly upstreamErrors = new Counter({
    name: `${PREFIX}upstream_errors_total`,
    help: 'Failed upstream attempts, retried or not, by error class.',
    labelNames: ['class'],
    registers: [this.registry],
  });
  private readonly viewSeconds = new Histogram({
    name: `${PREFIX}view_refresh_duration_seconds`,
    help: "Time of each successful refresh of a view, in seconds (a failure's time says little: a view whose input failed fails at once).",
    labelNames: ['view'],
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly viewFailures = new Counter({
    name: `${PREFIX}view_refresh_failures_total`,
    help: 'Failed refreshes of a view.',
    labelNames: ['view'],
    registers: [this.registry],
  });
  private readonly failures = new Gauge({
    name: `${PREFIX}consecutive_failures`,
    help: 'Ticks failed in a row (0 after a tick that did not fail).',
    registers: [this.registry],
  });
  private readonly generation = new Gauge({ name: `${PREFIX}generation`, help: 'The generation published (0 while none is).', registers: [this.registry] });
  private readonly lastSuccess = new Gauge({
    name: `${PREFIX}last_success_timestamp_seconds`,
    help: 'Unix time of the last tick that published or found nothing new (0 before the first in this process).',
    registers: [this.registry],
  });
  // Labelled by registry code only: a bounded set (the registry's), never an error's text.
  private readonly tickFailures = new Counter({
    name: `${PREFIX}tick_failures_total`,
    help: 'Failed ticks, by error code (docs/errors.md): upstream, payload_shape, staging, fatal_storage, tick_failed, interrupted...',
    labelNames: ['code'],
    registers: [this.registry],
  });
  private readonly sourceFailures = new Counter({
    name: `${PREFIX}source_failures_total`,
    help: 'Ticks in which a source failed, by source (repo-recall, transcripts); the tick goes on with the other source when it can.',
    labelNames: ['source'],
    registers: [this.registry],
  });
  private readonly transcriptMessages = new Gauge({
    name: `${PREFIX}transcript_messages`,
    help: "Responses in base.messages, read from Claude Code's transcripts.",
    registers: [this.registry],
  });
  private readonly transcriptFiles = new Gauge({
    name: `${PREFIX}transcript_files`,
    help: 'Transcript files known (all directories).',
    registers: [this.registry],
  });
  private readonly transcriptChanges = new Counter({
    name: `${PREFIX}transcript_messages_changed_total`,
    help: 'Responses the transcripts source added (change="added") or whose kept line it replaced (change="updated").',
    labelNames: ['change'],
    registers: [this.registry],
  });
  private readonly transcriptBytes = new Counter({
    name: `${PREFIX}transcript_bytes_read_total`,
    help: 'Bytes of transcript files read.',
    registers: [this.registry],
  });
  private readonly transcriptSkipped = new Counter({
    name: `${PREFIX}transcript_skipped_lines_total`,
    help: 'Transcript lines skipped, by reason (malformed, oversized); counted, never quoted.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly startTime = new Gauge({ name: `${PREFIX}start_time_seconds`, help: 'Unix time the puller process started.', registers: [this.registry] });

  constructor(
    path: string,
    viewNames: readonly string[],
    private readonly startedAt: Date,
    private readonly onError: (err: unknown) => void,
  ) {
    this.views = new Set(viewNames);
    // Compact: a few hundred series (one histogram per view) make a 170 KB file when indented.
    this.file = new AtomicJsonFile(path, onError, 0);
    this.startTime.set(startedAt.getTime() / 1000);
    // Every series of a fixed label set exists from the start at 0: a rate over a counter that
    // appears only at its first increment misses that increment.
    for (const outcome of TICK_OUTCOMES) this.ticks.inc({ outcome }, 0);
    for (const errorClass of UPSTREAM_ERROR_CLASSES) this.upstreamErrors.inc({ class: errorClass }, 0);
    for (const phase of [...TICK_PHASES, 'total']) this.tickSeconds.zero({ phase });
    for (const source of SOURCES) this.sourceFailures.inc({ source }, 0);
    for (const code of TICK_ERROR_CODES) this.tickFailures.inc({ code }, 0);
    for (const change of ['added', 'updated']) this.transcriptChanges.inc({ change }, 0);
    for (const reason of ['malformed', 'oversized']) this.transcriptSkipped.inc({ reason }, 0);
    for (const view of viewNames) {
      this.viewSeconds.zero({ view });
      this.viewFailures.inc({ view }, 0);
    }
  }

  setGeneration(generation: number | null): void {
    this.generation.set(generation ?? 0);
  }

  upstreamError(errorClass: UpstreamErrorClass): void {
    this.upstreamErrors.inc({ class: errorClass });
  }

  tick(f: TickFigures): void {
    this.ticks.inc({ outcome: f.outcome });
    this.tickSeconds.observe({ phase: 'total' }, f.durationMs / 1000);
    for (const phase of TICK_PHASES) {
      const ms = f.phasesMs[phase] ?? 0;
      if (ms > 0) this.tickSeconds.observe({ phase }, ms / 1000);
    }
    this.rowsLoaded.inc(f.sessions ?? 0);
    this.rowsRejected.inc(f.rejected ?? 0);
    this.bytesPulled.inc(f.bytes ?? 0);
    this.bytesWritten.inc(f.writeBytes ?? 0);
    for (const view of f.views) {
      // Only the catalog's names: a label value never comes from anywhere else.
      if (!this.views.has(view.name)) continue;
      if (view.status === 'failed') this.viewFailures.inc({ view: view.name });
      else this.viewSeconds.observe({ view: view.name }, view.durationMs / 1000);
    }
    for (const source of f.failedSources) this.sourceFailures.inc({ source });
    if (f.errorCode) this.tickFailures.inc({ code: f.errorCode });
    const t = f.transcripts;
    if (t) {
      this.transcriptMessages.set(t.messages);
      this.transcriptFiles.set(t.files);
      this.transcriptChanges.inc({ change: 'added' }, t.added);
      this.transcriptChanges.inc({ change: 'updated' }, t.updated);
      this.transcriptBytes.inc(t.bytesRead);
      this.transcriptSkipped.inc({ reason: 'malformed' }, t.skippedMalformed);
      this.transcriptSkipped.inc({ reason: 'oversized' }, t.skippedOversized);
    }
    this.failures.set(f.consecutiveFailures);
    this.setGeneration(f.generation);
    if (f.succeededAt) this.lastSuccess.set(f.succeededAt.getTime() / 1000);
  }

  /** The document metrics.json holds now. */
  async document(): Promise<MetricsDocument> {
    return {
      pid: process.pid,
      started_at: this.startedAt.toISOString(),
      written_at: new Date().toISOString(),
      metrics: await this.registry.getMetricsAsJSON(),
    };
  }

  /** Replaces metrics.json with the figures as they are now; never throws (errors go to onError). */
  write(): Promise<void> {
    // Chained, so that documents reach the file in the order they were asked for.
    this.writing = this.writing
      .then(async () => {
        await this.file.write(await this.document());
      })
      .catch(this.onError);
    return this.writing;
  }
}
