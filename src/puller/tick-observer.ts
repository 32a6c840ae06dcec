import type { ErrorCodeName } from '../shared/error-registry.js';
import type { Logger } from '../shared/logger.js';
import type { RepoRecallSection, TranscriptsSection } from '../shared/status.js';
import type { FatalCause } from './fatal-errors.js';
import type { SourceName, TranscriptFigures } from './metrics.js';
import type { FinishedTick, Recorder } from './recorder.js';
import type { StatusWriter } from './status-writer.js';
import { logTick } from './tick-log.js';
import type { TickReport } from './tick.js';
import type { RecallStage } from './sources/repo-recall.js';
import type { TranscriptsStage } from './sources/transcripts.js';
import type { TranscriptsReport } from './transcripts/report.js';
import type { UpstreamErrorClass } from './upstream-error.js';

/**
 * The one place a tick's outcome goes out from: status.json (StatusWriter), the event log and
 * metrics.json (Recorder), and the daemon's log line. The puller tells it that a tick started, and
 * then how it ended (a report, or a failure); everything each file says is derived here from that,
 * in the order that keeps them telling one story (status.json first, tick_finished last).
 */

/** A tick that threw: what the puller made of the error. */
export interface TickFailure {
  error: string;
  /** The error's code in the registry (status.json's last_error_code, the event's error_code). */
  code: ErrorCodeName;
  /** Set when the failure was repo-recall's answer (or lack of one). */
  errorClass: UpstreamErrorClass | null;
  /** Cut short by a stop: not a failure of the puller's, so no count and no failed outcome. */
  interrupted: boolean;
  fatal: { cause: FatalCause; freeBytes: number | undefined } | null;
  /** The loop waits for repo-recall to accept connections before the next try. */
  probingUpstream: boolean;
  /** The sources' stages, when the tick failed because every one of them did. */
  stages: { repoRecall: RecallStage; transcripts: TranscriptsStage } | null;
  durationMs: number;
}

/** How many of the transcripts' warnings status.json keeps (the log has them all). */
const MAX_WARNINGS = 20;

export class TickObserver {
  constructor(
    private readonly status: StatusWriter,
    private readonly recorder: Recorder,
    private readonly logger: Logger,
    private readonly repoRecallUrl: string,
  ) {}

  async started(at: Date): Promise<void> {
    this.recorder.tickStarted();
    await this.status.update({ state: 'pulling', last_tick_started_at: at.toISOString(), next_tick_due_at: null });
  }

  /** A tick that did not fail (a source may have: the tick went on with the other). */
  async finished(report: TickReport, nextDue: string | null): Promise<void> {
    const finishedAt = new Date();
    const finished = finishedAt.toISOString();
    const prev = this.status.status;
    if (report.repoRecall.kind === 'failed' && report.repoRecall.errorClass) {
      this.recorder.upstreamError(report.repoRecall.errorClass, report.repoRecall.error, false);
    }
    await this.recorder.tickChanges(report, prev.view_errors);
    const viewErrors = Object.fromEntries(report.views.filter((v) => v.error).map((v) => [v.name, v.error ?? '']));
    const attempted = new Set(report.views.map((v) => v.name));
    // Views not attempted this tick keep their last reported error.
    const keptErrors = Object.fromEntries(Object.entries(prev.view_errors).filter(([name]) => !attempted.has(name)));
    await this.status.update({
      state: 'idle',
      last_tick_finished_at: finished,
      last_tick_outcome: report.outcome,
      // Held back, the data readers have is not known to be current: its age keeps growing.
      last_success_at: report.held ? prev.last_success_at : finished,
      consecutive_failures: 0,
      next_tick_due_at: nextDue,
      generation: report.generation,
      scan_version: report.scanVersion,
      rejected_rows: report.load ? report.load.rejected : prev.rejected_rows,
      view_errors: { ...keptErrors, ...viewErrors },
      held_payload: report.held,
      repo_recall: this.recallSection(prev.repo_recall ?? null, report.repoRecall, finished),
      transcripts: transcriptsSection(prev.transcripts ?? null, report.transcripts, finished),
    });
    await this.recorder.tickFinished({
      outcome: report.outcome,
      durationMs: report.durationMs,
      phasesMs: report.phases,
      generation: report.generation || null,
      sessions: report.load?.sessions ?? null,
      rejected: report.load?.rejected ?? null,
      bytes: report.bytes,
      writeBytes: report.writeBytes?.total ?? null,
      views: report.views,
      consecutiveFailures: 0,
      // Held back, the data readers have is not known to be current (as status.json's last_success_at).
      succeededAt: report.held ? null : finishedAt,
      error: null,
      errorCode: null,
      errorClass: null,
      ...sourceFigures(report.repoRecall, report.transcripts),
    });
    logTick(this.logger, report);
  }

  /** A tick that threw (every source failed, or what came after them did, or a stop cut it short). */
  async failed(f: TickFailure, nextDue: (failures: number) => string | null): Promise<void> {
    if (f.errorClass) this.recorder.upstreamError(f.errorClass, f.error, false);
    const finishedAt = Date.now();
    const finished = new Date(finishedAt).toISOString();
    const prev = this.status.status;
    const failures = prev.consecutive_failures + (f.interrupted ? 0 : 1);
    const next = f.fatal ? null : nextDue(failures);
    // A tick cut short by a stop is not a failure of the puller's: status.json keeps the last
    // tick that did finish, so a restart during a tick never makes the health worse.
    await this.status.update(
      f.interrupted
        ? { state: 'idle', next_tick_due_at: null }
        : {
            state: 'idle',
            last_tick_finished_at: finished,
            last_tick_outcome: 'failed',
            last_error: f.error,
            last_error_code: f.code,
            last_error_at: finished,
            consecutive_failures: failures,
            next_tick_due_at: next,
            ...(f.stages && {
              repo_recall: this.recallSection(prev.repo_recall ?? null, f.stages.repoRecall, finished),
              transcripts: transcriptsSection(prev.transcripts ?? null, f.stages.transcripts, finished),
            }),
          },
    );
    const figures = f.stages ? sourceFigures(f.stages.repoRecall, f.stages.transcripts) : { failedSources: [], transcripts: null, sources: undefined };
    await this.recorder.tickFinished({
      outcome: 'failed',
      durationMs: f.durationMs,
      phasesMs: {},
      generation: this.status.status.generation,
      sessions: null,
      rejected: null,
      bytes: null,
      writeBytes: null,
      views: [],
      consecutiveFailures: failures,
      succeededAt: null,
      error: f.error,
      errorCode: f.code,
      errorClass: f.errorClass,
      ...figures,
    });
    this.logger.error(
      {
        tick: 'failed',
        error: f.error,
        error_code: f.code,
        error_class: f.errorClass ?? undefined,
        failed_sources: figures.failedSources.length > 0 ? figures.failedSources : undefined,
        consecutive_failures: failures,
        duration_ms: Math.round(f.durationMs),
        // Every failure line says when the next try is (none for a one-shot pull).
        next_try_at: next ?? undefined,
        next_try_in_seconds: next ? Math.round((Date.parse(next) - finishedAt) / 100) / 10 : undefined,
        probing_upstream: f.probingUpstream ? true : undefined,
        fatal: f.fatal?.cause,
        free_bytes: f.fatal?.freeBytes,
      },
      'tick',
    );
  }

  private recallSection(prev: RepoRecallSection | null, stage: RecallStage, at: string): RepoRecallSection {
    const failed = stage.kind === 'failed';
    return {
      url: this.repoRecallUrl,
      outcome: stage.kind,
      last_error: failed ? stage.error : null,
      last_error_at: failed ? at : null,
      consecutive_failures: failed ? (prev?.consecutive_failures ?? 0) + 1 : 0,
    };
  }
}

function skippedTotals(report: TranscriptsReport): { malformed: number; oversized: number } {
  let malformed = 0;
  let oversized = 0;
  for (const s of report.skipped) {
    malformed += s.malformed;
    oversized += s.oversized;
  }
  return { malformed, oversized };
}

/** The transcripts' section of status.json: this tick's figures, and the lines skipped in the files known now. */
function transcriptsSection(prev: TranscriptsSection | null, stage: TranscriptsStage, at: string): TranscriptsSection {
  const failures = stage.kind === 'failed' ? (prev?.consecutive_failures ?? 0) + 1 : 0;
  const health = {
    last_error: stage.kind === 'failed' ? stage.error : null,
    last_error_at: stage.kind === 'failed' ? at : null,
    consecutive_failures: failures,
  };
  if (stage.kind !== 'read') {
    // Off, or failed: what is loaded stays as the last read left it.
    const kept = prev ?? { directories: [], files: 0, messages: 0, added: 0, updated: 0, skipped: { malformed: 0, oversized: 0, worst: [] }, warnings: [] };
    return { ...kept, outcome: stage.kind, added: 0, updated: 0, warnings: [], ...health };
  }
  const r = stage.report;
  return {
    outcome: 'read',
    directories: r.directories.map((d) => ({ path: d.path, readable: d.readable, files: d.files })),
    files: r.files,
    messages: r.messages,
    added: r.added,
    updated: r.updated,
    skipped: stage.skippedInAll,
    warnings: r.warnings.slice(0, MAX_WARNINGS),
    ...health,
  };
}

/** The sources' part of the metrics and of the tick_finished event. */
function sourceFigures(
  recall: RecallStage,
  transcripts: TranscriptsStage,
): { failedSources: SourceName[]; transcripts: TranscriptFigures | null; sources: FinishedTick['sources'] } {
  const failedSources: SourceName[] = [];
  if (recall.kind === 'failed') failedSources.push('repo-recall');
  if (transcripts.kind === 'failed') failedSources.push('transcripts');
  const report = transcripts.kind === 'read' ? transcripts.report : null;
  const skipped = report ? skippedTotals(report) : { malformed: 0, oversized: 0 };
  const figures: TranscriptFigures | null = report && {
    files: report.files,
    messages: report.messages,
    added: report.added,
    updated: report.updated,
    bytesRead: report.bytesRead,
    skippedMalformed: skipped.malformed,
    skippedOversized: skipped.oversized,
  };
  return {
    failedSources,
    transcripts: figures,
    sources: {
      repo_recall: { outcome: recall.kind, error: recall.kind === 'failed' ? recall.error : null },
      transcripts: {
        outcome: transcripts.kind,
        error: transcripts.kind === 'failed' ? transcripts.error : null,
        files: report?.files ?? 0,
        files_read: report?.filesRead ?? 0,
        messages: report?.messages ?? 0,
        added: report?.added ?? 0,
        updated: report?.updated ?? 0,
        skipped_malformed: skipped.malformed,
        skipped_oversized: skipped.oversized,
        warnings: report?.warnings.length ?? 0,
      },
    },
  };
}
