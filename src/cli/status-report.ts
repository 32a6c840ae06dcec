import { CATALOG, type ViewDefinition } from '../shared/catalog/index.js';
import { errorMessage } from '../shared/errors.js';
import { homePaths } from '../shared/paths.js';
import type { SnapshotMeta, ViewState } from '../shared/snapshot.js';
import { isProcessAlive, pullerReasons, pullerRunning, readPullerStatus, type PullerStatus } from '../shared/status.js';
import { VERSION } from '../shared/version.js';
import { formatDuration, secondsSince } from './format.js';
import { STATUS_FORMAT } from './operator-commands.js';
import { readSnapshotInfo, type SnapshotInfo } from '../shared/snapshot-file.js';

/**
 * What `session-lattice status` and `views` report, as data: gathered read-only from status.json
 * and the published snapshot's lattice.meta and lattice.views, then judged (ok / degraded /
 * unhealthy). Rendering and the commands are in status-command.ts.
 */

// -------------------------------------------------------------------------------------------------
// The `--json` documents. Stable: fields are only ever added; `format` (STATUS_FORMAT, declared with
// the commands) changes if one is removed or changes meaning. Instants are ISO-8601 UTC strings,
// ages are seconds (one decimal), unknown is null.

export type Health = 'ok' | 'degraded' | 'unhealthy';

/** `session-lattice status --json`. */
export interface StatusReport {
  format: typeof STATUS_FORMAT;
  /** Version of the CLI that wrote the report. */
  version: string;
  /** The home that was inspected (absolute). */
  home: string;
  checked_at: string;
  /**
   * `unhealthy` (exit 1): nothing is published yet, the snapshot or status cannot be read, or the
   * puller's last tick failed. `degraded` (exit 0, or 1 with --strict): served, but the puller is
   * not running, the data is older than stale-after-intervals refresh intervals, a view failed to
   * refresh, or no puller has ever written a status. `ok` (exit 0): none of that.
   */
  health: Health;
  /** Why the health is `unhealthy`, one sentence each. */
  problems: string[];
  /** Why the health is (at least) `degraded`. */
  warnings: string[];
  /** The published generation; null when nothing is published yet or it cannot be read. */
  snapshot: SnapshotReport | null;
  /** status.json as the puller wrote it, plus liveness; null when no puller ever ran on this home. */
  puller: PullerReport | null;
  /** Every view of the catalog (and any the snapshot holds that this version's catalog lacks). */
  views: ViewReport[];
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
}

export async function gather(home: string, opts: { withStatus: boolean }): Promise<Gathered> {
  const paths = homePaths(home);
  const out: Gathered = { snapshot: null, snapshotError: null, status: null, statusError: null };
  try {
    out.snapshot = await readSnapshotInfo(paths.published);
  } catch (err) {
    out.snapshotError = errorMessage(err);
  }
  if (opts.withStatus) {
    try {
      out.status = await readPullerStatus(paths.status);
    } catch (err) {
      out.statusError = errorMessage(err);
    }
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
  const problems: string[] = [];
  const warnings: string[] = [];

  let puller: PullerReport | null = null;
  if (g.status) {
    const running = pullerRunning(g.status, alive);
    const due = secondsSince(g.status.next_tick_due_at, now);
    puller = { ...g.status, running, next_tick_due_in_seconds: running && due !== null ? -due : null };
  }

  const interval = puller?.refresh_interval_seconds ?? opts.defaultIntervalSeconds;
  const staleAfter = interval * opts.staleAfterIntervals;
  let snapshot: SnapshotReport | null = null;
  if (g.snapshot) {
    const meta = g.snapshot.meta;
    let checked = Date.parse(meta.published_at);
    if (puller?.last_success_at && (puller.generation ?? 0) >= meta.generation) {
      checked = Math.max(checked, Date.parse(puller.last_success_at));
    }
    const dataAge = Number.isNaN(checked) ? null : Math.max(0, Math.round((now - checked) / 100) / 10);
    snapshot = {
      path: homePaths(home).published,
      ...meta,
      age_seconds: secondsSince(meta.published_at, now),
      data_age_seconds: dataAge,
      stale_after_seconds: staleAfter,
    };
  }

  if (g.snapshotError) problems.push(`the published snapshot cannot be read: ${g.snapshotError}`);
  else if (!snapshot) problems.push('nothing is published yet (no snapshot in this home)');
  if (g.statusError) problems.push(`the puller's status.json cannot be read: ${g.statusError}`);
  if (!g.statusError) {
    for (const reason of pullerReasons(g.status, puller?.running ?? false)) (reason.failing ? problems : warnings).push(reason.text);
  }
  if (snapshot?.data_age_seconds != null && snapshot.data_age_seconds > staleAfter) {
    warnings.push(
      `the data is ${formatDuration(snapshot.data_age_seconds)} old, more than ${opts.staleAfterIntervals} refresh intervals (${formatDuration(staleAfter)})`,
    );
  }
  const views = viewReports(g.snapshot, now);
  for (const v of views) if (v.last_error) warnings.push(`view ${v.name} failed to refresh: ${v.last_error}`);

  return {
    format: STATUS_FORMAT,
    version: VERSION,
    home,
    checked_at: new Date(now).toISOString(),
    health: problems.length > 0 ? 'unhealthy' : warnings.length > 0 ? 'degraded' : 'ok',
    problems,
    warnings,
    snapshot,
    puller,
    views,
  };
}

export function statusExitCode(report: StatusReport, strict: boolean): number {
  if (report.health === 'unhealthy') return 1;
  if (report.health === 'degraded' && strict) return 1;
  return 0;
}

// -------------------------------------------------------------------------------------------------
// Rendering for a person.

