import type { Logger } from '../shared/logger.js';
import type { TickReport } from './tick.js';

/** A tick's lines in the daemon's log: its warnings, the shrink guard's decisions, and the one summary line. */
export function logTick(logger: Logger, report: TickReport): void {
  for (const warning of report.warnings) logger.warn({ warning }, 'tick warning');
  logShrink(logger, report);
  logger.info(
    {
      tick: 'ok',
      outcome: report.outcome,
      generation: report.generation,
      // "unchanged (identical payload)": a 200 with the very bytes already loaded.
      upstream: report.upstream,
      failed_sources: report.failedSources.length > 0 ? report.failedSources : undefined,
      // Counts only: a transcript's text never reaches a log line.
      transcripts:
        report.transcripts.kind === 'read'
          ? {
              files: report.transcripts.report.files,
              files_read: report.transcripts.report.filesRead,
              messages: report.transcripts.report.messages,
              added: report.transcripts.report.added,
              updated: report.transcripts.report.updated,
              skipped_lines: report.transcripts.report.skipped.reduce((n, s) => n + s.malformed + s.oversized, 0) || undefined,
            }
          : report.transcripts.kind,
      scan_version: report.scanVersion,
      bytes: report.bytes,
      sessions: report.load?.sessions,
      // How the load went: `changed` rewrote only the sessions whose elements changed.
      load: report.load ? { mode: report.load.mode, staged: report.load.staged, written: report.load.written, removed: report.load.removed } : undefined,
      rejected: report.load?.rejected,
      rejected_by: report.load && report.load.rejected > 0 ? report.load.rejectedBy : undefined,
      repaired_surrogates: report.repairedSurrogates || undefined,
      views_materialized: report.views.filter((v) => v.status === 'materialized').length,
      views_failed: report.views.filter((v) => v.status === 'failed').map((v) => v.name),
      phases_ms: Object.fromEntries(Object.entries(report.phases).map(([k, v]) => [k, Math.round(v)])),
      duration_ms: Math.round(report.durationMs),
      write_bytes: report.writeBytes?.total,
      phases_write_bytes: report.writeBytes?.phases,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    },
    'tick',
  );
}

/** The shrink guard's decisions are warnings: a person should know what was held or let through. */
function logShrink(logger: Logger, report: TickReport): void {
  const { held, acceptedShrink } = report;
  if (held) {
    logger.warn(
      {
        reasons: held.reasons,
        sessions: held.sessions,
        loaded_sessions: held.loaded_sessions,
        scan_version: held.scan_version,
        loaded_scan_version: held.loaded_scan_version,
        seen_ticks: held.seen_ticks,
        confirm_ticks: held.confirm_ticks,
      },
      'payload held back by the shrink guard',
    );
  }
  if (acceptedShrink) {
    logger.warn(
      { reasons: acceptedShrink.reasons, accepted_by: acceptedShrink.by, seen_ticks: acceptedShrink.seenTicks },
      'loading a payload the shrink guard would hold back',
    );
  }
}
