import { CATALOG, type ViewDefinition } from '../shared/catalog/index.js';
import { homeDisk, type HomeDisk } from '../shared/disk-space.js';
import { errorMessage } from '../shared/errors.js';
import { homePaths } from '../shared/paths.js';
import type { SnapshotMeta, ViewState } from '../shared/snapshot.js';
import { readEventLog, type EventEnvelope } from '../shared/events.js';
import { assessHealth, healthExitCode, type HealthVerdict } from '../shared/health.js';
import { isProcessAlive, pullerRunning, readPullerStatus, type PullerStatus } from '../shared/status.js';
import { VERSION } from '../shared/version.js';
import { secondsSince } from './format.js';
import { STATUS_FORMAT } from './status-format.js';
import { readSnapshotInfo, type SnapshotInfo } from '../shared/snapshot-file.js';

/**
 * What `session-lattice status` and `views` report, as data: gathered read-only from status.json
 * and the published snapshot's lattice.meta and lattice.views, then judged by the one health
 * verdict (src/shared/health.ts). Rendering and the commands are in status-command.ts.
 */

// -------------------------------------------------------------------------------------------------
// The `--json` documents. Stable: fields are only ever added; `format` (STATUS_FORMAT, in
// status-format.ts) changes if one is removed or changes meaning. Instants are ISO-8601 UTC
// strings, ages are seconds (one decimal), unknown is null.

/** `session-lattice status --json`. */
export interface StatusReport {
  format: typeof STATUS_FORMAT;
  /** Version of the CLI that wrote the report. */
  version: string;
  /** The home that was inspected (absolute). */
  home: string;
  checked_at: string;
  /**
   * The verdict /healthz and MCP give too (src/shared/health.ts): `failing` and `starting` exit 1,
   * `degraded` exits 0 (1 with --strict), `ok` exits 0.
   */
  health: HealthVerdict;
  /** Why the health is not `ok`, one sentence each, as /healthz says them: failing ones first. */
  reasons: string[];
  /** The reasons that make it exit 1: why it is `failing`, or that nothing is published yet. */
  problems: string[];
  /** The reasons that make it (at least) `degraded`. */
  warnings: string[];
  /** The published generation; null when nothing is published yet or it cannot be read. */
  snapshot: SnapshotReport | null;
  /** status.json as the puller wrote it, plus liveness; null when no puller ever ran on this home. */
  puller: PullerReport | null;
  /** Every view of the catalog (and any the snapshot holds that this version's catalog lacks). */
  views: ViewReport[];
  /** The puller's last few events (puller/events.jsonl), oldest first. */
  events: EventEnvelope[];
}

export interface SnapshotReport extends SnapshotMeta {
  /** The published file. */
  path: string;
  /** Seconds since published_at. */
  age_seconds: number | null;
  /**
   * Seconds since the data was last known current: the later of the publish and the puller's last
   * successful tick for this generation (a tick that finds upstream unchanged publishes nothing).
   */
  data_age_seconds: number | null;
  /** data_age_seconds above which the data counts as stale (warning). */
  stale_after_seconds: number;
}

export interface PullerReport extends PullerStatus {
  /** The process named by `pid` is alive and did not record a clean stop. */
  running: boolean;
  /** Seconds until next_tick_due_at (negative when overdue); null when none is scheduled. */
  next_tick_due_in_seconds: number | null;
}

export type ViewStateName = 'materialized' | 'failed' | 'not_materialized';

export interface ViewReport {
  name: string;
  description: string | null;
  refresh_interval_seconds: number | null;
  key_columns: string[];
  /** False when the snapshot holds a view this version of the catalog does not define. */
  in_catalog: boolean;
  /**
   * `failed`: its last refresh failed (it keeps and serves its previous rows, if any);
   * `not_materialized`: no rows yet; `materialized`: fine.
   */
  state: ViewStateName;
  materialized_at: string | null;
  /** Seconds since materialized_at. */
  age_seconds: number | null;
  row_count: number | null;
  last_duration_ms: number | null;
  last_error: string | null;
  last_error_at: string | null;
}

/** `session-lattice views --json`. */
export interface ViewsReport {
  format: typeof STATUS_FORMAT;
  version: string;
  home: string;
  checked_at: string;
  generation: number | null;
  published_at: string | null;
  /** The zone the calendar views were computed in. */
  timezone: string | null;
  /** Set when the published file exists but cannot be read. */
  error: string | null;
  views: ViewReport[];
}

// -------------------------------------------------------------------------------------------------
// Gathering.

export interface Gathered {
  snapshot: SnapshotInfo | null;
  snapshotError: string | null;
  status: PullerStatus | null;
  statusError: string | null;
  /** The home's free space and the published file's size (src/shared/disk-space.ts); null when unknown. */
  disk?: HomeDisk | null;
  /** The last few events of the puller's log; none when there is no log or it cannot be read. */
  events?: EventEnvelope[];
}

/** How many of the puller's events `status` shows. */
const STATUS_EVENTS = 8;

export async function gather(home: string, opts: { withStatus: boolean }): Promise<Gathered> {
  const paths = homePaths(home);
  const out: Gathered = { snapshot: null, snapshotError: null, status: null, statusError: null, events: [] };
  try {
    out.snapshot = await readSnapshotInfo(paths.published);
  } catch (err) {
    out.snapshotError = errorMessage(err);
  }
  if (opts.withStatus) {
    out.disk = await homeDisk(paths.home, paths.published);
    try {
      out.status = await readPullerStatus(paths.status);
    } catch (err) {
      out.statusError = errorMessage(err);
    }
    // History, not health: an unreadable log costs only this section.
    out.events = (await readEventLog(paths).catch(() => [])).slice(-STATUS_EVENTS);
  }
  return out;
}

function viewReport(def: ViewDefinition | null, state: ViewState | undefined, now: number): ViewReport {
  return {
    name: def?.name ?? state?.name ?? '',
    description: state?.description ?? def?.description ?? null,
    refresh_interval_seconds: state?.refresh_interval_seconds ?? def?.refreshIntervalSeconds ?? null,
    key_columns: state?.key_columns ?? (def ? [...def.keyColumns] : []),
    in_catalog: def !== null,
    state: state?.last_error ? 'failed' : state?.materialized_at ? 'materialized' : 'not_materialized',
    materialized_at: state?.materialized_at ?? null,
    age_seconds: secondsSince(state?.materialized_at, now),
    row_count: state?.row_count ?? null,
    last_duration_ms: state?.last_duration_ms == null ? null : Math.round(state.last_duration_ms * 10) / 10,
    last_error: state?.last_error ?? null,
    last_error_at: state?.last_error_at ?? null,
  };
}

/** The catalog in its own order, joined with what the snapshot recorded; then views only the snapshot has. */
export function viewReports(snapshot: SnapshotInfo | null, now: number, catalog: readonly ViewDefinition[] = CATALOG): ViewReport[] {
  const recorded = new Map((snapshot?.views ?? []).map((v) => [v.name, v]));
  const reports = catalog.map((def) => viewReport(def, recorded.get(def.name), now));
  const known = new Set(catalog.map((d) => d.name));
  for (const v of snapshot?.views ?? []) if (!known.has(v.name)) reports.push(viewReport(null, v, now));
  return reports;
}

/** Builds the status document from what was read; pure apart from the liveness probe. */
export function buildStatusReport(
  home: string,
  g: Gathered,
  opts: { now: number; staleAfterIntervals: number; defaultIntervalSeconds: number; alive?: (pid: number) => boolean },
): StatusReport {
  const { now } = opts;
  const alive = opts.alive ?? isProcessAlive;
  let puller: PullerReport | null = null;
  if (g.status) {
    const running = pullerRunning(g.status, alive);
    const due = secondsSince(g.status.next_tick_due_at, now);
    puller = { ...g.status, running, next_tick_due_in_seconds: running && due !== null ? -due : null };
  }
  const meta = g.snapshot?.meta ?? null;
  const assessment = assessHealth({
    snapshot: meta && { generation: meta.generation, published_at: meta.published_at, views: g.snapshot?.views ?? [] },
    snapshotError: g.snapshotError,
    status: g.status,
    statusError: g.statusError,
    pullerRunning: puller?.running ?? false,
    disk: g.disk,
    now,
    settings: { staleAfterIntervals: opts.staleAfterIntervals, refreshIntervalSeconds: opts.defaultIntervalSeconds },
  });
  const snapshot: SnapshotReport | null = meta && {
    path: homePaths(home).published,
    ...meta,
    age_seconds: secondsSince(meta.published_at, now),
    data_age_seconds: assessment.dataAgeSeconds,
    stale_after_seconds: assessment.staleAfterSeconds,
  };
  const reasons = assessment.reasons;
  return {
    format: STATUS_FORMAT,
    version: VERSION,
    home,
    checked_at: new Date(now).toISOString(),
    health: assessment.verdict,
    reasons: reasons.map((r) => r.text),
    problems: reasons.filter((r) => r.severity !== 'degraded').map((r) => r.text),
    warnings: reasons.filter((r) => r.severity === 'degraded').map((r) => r.text),
    snapshot,
    puller,
    views: viewReports(g.snapshot, now),
    events: g.events ?? [],
  };
}

export function statusExitCode(report: StatusReport, strict: boolean): number {
  return healthExitCode(report.health, strict);
}

// -------------------------------------------------------------------------------------------------
// Rendering for a person.
