import type { Command } from 'commander';
import { CATALOG, type ViewDefinition } from '../shared/catalog/index.js';
import type { Config, FlagValues } from '../shared/config.js';
import { errorMessage } from '../shared/errors.js';
import { homePaths } from '../shared/paths.js';
import type { SnapshotMeta, ViewState } from '../shared/snapshot.js';
import { isProcessAlive, readPullerStatus, type PullerStatus } from '../shared/status.js';
import { VERSION } from '../shared/version.js';
import { formatCount, formatDuration, instant, relative, secondsSince, table } from './format.js';
import { addConfigOptions } from './options.js';
import { readSnapshotInfo, type SnapshotInfo } from './snapshot-info.js';

/**
 * The operator commands: `session-lattice status` and `session-lattice views`.
 *
 * Both only read: status.json (a plain file read) and the published snapshot's `lattice.meta` and
 * `lattice.views`, through one read-only DuckDB instance closed before anything is printed. They
 * never open the puller's working database, never write under the home, and work whether or not
 * the daemons are running.
 */

// -------------------------------------------------------------------------------------------------
// The `--json` documents. Stable: fields are only ever added; `format` changes if one is removed or
// changes meaning. Instants are ISO-8601 UTC strings, ages are seconds (one decimal), unknown is null.

export const STATUS_FORMAT = 1;

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
  /** Set when the published file exists but cannot be read. */
  error: string | null;
  views: ViewReport[];
}

// -------------------------------------------------------------------------------------------------
// Gathering.

interface Gathered {
  snapshot: SnapshotInfo | null;
  snapshotError: string | null;
  status: PullerStatus | null;
  statusError: string | null;
}

async function gather(home: string, opts: { withStatus: boolean }): Promise<Gathered> {
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
    const running = g.status.state !== 'stopped' && alive(g.status.pid);
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
  if (puller?.last_tick_outcome === 'failed') {
    problems.push(`the puller's last tick failed: ${puller.last_error ?? 'unknown error'}`);
  }

  if (!g.status && !g.statusError) warnings.push('no puller has run on this home (no status.json)');
  if (puller && !puller.running) {
    warnings.push(
      puller.state === 'stopped'
        ? `the puller is not running (pid ${puller.pid} stopped)`
        : `the puller is not running (pid ${puller.pid} is gone without stopping cleanly)`,
    );
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

function viewsTable(views: ViewReport[], now: number, maxWidth: number | undefined): string {
  const rows = views.map((v) => [
    v.in_catalog ? v.name : `${v.name} (not in catalog)`,
    formatCount(v.row_count),
    v.materialized_at ? relative(secondsSince(v.materialized_at, now) ?? 0) : 'never',
    v.refresh_interval_seconds === null ? '-' : formatDuration(v.refresh_interval_seconds),
    v.state === 'failed' ? `FAILED: ${v.last_error ?? ''}` : v.state === 'not_materialized' ? 'not materialized yet' : 'ok',
  ]);
  return table(['VIEW', 'ROWS', 'MATERIALIZED', 'EVERY', 'STATE'], rows, { right: [1], maxWidth });
}

function field(label: string, value: string): string {
  return `  ${label.padEnd(15)}${value}`;
}

export function renderStatus(r: StatusReport, now: number, maxWidth?: number): string {
  const out: string[] = [];
  out.push(`session-lattice status: ${r.health.toUpperCase()}   (home ${r.home})`);
  for (const p of r.problems) out.push(`  ✗ ${p}`);
  for (const w of r.warnings) out.push(`  ! ${w}`);

  out.push('', 'snapshot');
  const s = r.snapshot;
  if (!s) {
    out.push(field('generation', 'none published yet'));
  } else {
    out.push(field('generation', String(s.generation)));
    out.push(field('published', instant(s.published_at, now)));
    out.push(field('data age', s.data_age_seconds === null ? '-' : `${formatDuration(s.data_age_seconds)} (stale after ${formatDuration(s.stale_after_seconds)})`));
    out.push(field('upstream scan', s.scan_version === null ? '-' : `${s.scan_version}${s.etag ? `, etag ${s.etag}` : ''}`));
    out.push(field('sessions', formatCount(s.session_count)));
    out.push(field('rejected rows', formatCount(s.rejected_rows)));
    out.push(field('file', s.path));
  }

  out.push('', 'puller');
  const p = r.puller;
  if (!p) {
    out.push(field('process', 'no status.json: no puller has run on this home'));
  } else {
    const proc = p.running ? `running, pid ${p.pid} (${p.state})` : `not running (pid ${p.pid} ${p.state === 'stopped' ? 'stopped' : 'is gone'})`;
    out.push(field('process', proc));
    out.push(field('started', `${instant(p.started_at, now)}, version ${p.version}`));
    const outcome = p.last_tick_outcome ?? 'none yet';
    out.push(field('last tick', p.last_tick_finished_at ? `${outcome}, ${instant(p.last_tick_finished_at, now)}` : p.state === 'pulling' ? `in progress since ${instant(p.last_tick_started_at, now)}` : outcome));
    out.push(field('last success', instant(p.last_success_at, now)));
    const errorAge = secondsSince(p.last_error_at, now);
    out.push(field('last error', p.last_error ? `${errorAge === null ? '' : `${relative(errorAge)}: `}${p.last_error}` : '-'));
    out.push(field('failures', `${p.consecutive_failures} consecutive`));
    out.push(field('next tick', p.running && p.next_tick_due_at ? instant(p.next_tick_due_at, now) : '-'));
    out.push(field('interval', formatDuration(p.refresh_interval_seconds)));
    if (p.rejected_rows !== null) out.push(field('rejected rows', `${formatCount(p.rejected_rows)} in its last load`));
  }

  out.push('', `views (${r.views.length})`);
  out.push(
    viewsTable(r.views, now, maxWidth)
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  return `${out.join('\n')}\n`;
}

export function renderViews(r: ViewsReport, now: number, maxWidth?: number): string {
  const head =
    r.error !== null
      ? `the published snapshot cannot be read: ${r.error}`
      : r.generation === null
        ? `nothing is published yet in ${r.home}; the catalog defines ${r.views.length} views`
        : `generation ${r.generation}, published ${instant(r.published_at, now)}`;
  return `${head}\n\n${viewsTable(r.views, now, maxWidth)}\n`;
}

// -------------------------------------------------------------------------------------------------
// Commands.

function wantsJson(flags: FlagValues): boolean {
  return (flags as Record<string, unknown>).json === true;
}

function terminalWidth(): number | undefined {
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

/** `session-lattice status`. */
export async function statusCommand(config: Config, flags: FlagValues): Promise<number> {
  const g = await gather(config.home, { withStatus: true });
  const now = Date.now();
  const report = buildStatusReport(config.home, g, {
    now,
    staleAfterIntervals: config.staleAfterIntervals,
    defaultIntervalSeconds: config.refreshIntervalSeconds,
  });
  process.stdout.write(wantsJson(flags) ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report, now, terminalWidth()));
  return statusExitCode(report, (flags as Record<string, unknown>).strict === true);
}

/** `session-lattice views`. */
export async function viewsCommand(config: Config, flags: FlagValues): Promise<number> {
  const g = await gather(config.home, { withStatus: false });
  const now = Date.now();
  const report: ViewsReport = {
    format: STATUS_FORMAT,
    version: VERSION,
    home: config.home,
    checked_at: new Date(now).toISOString(),
    generation: g.snapshot?.meta.generation ?? null,
    published_at: g.snapshot?.meta.published_at ?? null,
    error: g.snapshotError,
    views: viewReports(g.snapshot, now),
  };
  process.stdout.write(wantsJson(flags) ? `${JSON.stringify(report, null, 2)}\n` : renderViews(report, now, terminalWidth()));
  return g.snapshotError ? 1 : 0;
}

// -------------------------------------------------------------------------------------------------
// Wiring: src/cli.ts calls registerOperatorCommands(program, run).

type Action = (config: Config, flags: FlagValues) => Promise<number>;
type Runner = (keys: readonly (keyof Config)[], action: Action) => (flags: FlagValues) => Promise<void>;

export const STATUS_SETTINGS: readonly (keyof Config)[] = ['home', 'staleAfterIntervals'];
export const VIEWS_SETTINGS: readonly (keyof Config)[] = ['home'];

const STATUS_HELP = `
Reads only: the puller's status.json and the published snapshot (lattice.meta, lattice.views),
opened read-only. Safe to run at any time, whether or not the daemons run.

Health and exit status:
  unhealthy  exit 1  nothing published yet, the snapshot or status.json cannot be read,
                     or the puller's last tick failed
  degraded   exit 0  (1 with --strict) the puller is not running, the data is older than
                     --stale-after-intervals refresh intervals, a view failed to refresh,
                     or no puller ever ran on this home
  ok         exit 0
  exit 2 on a bad flag or environment variable.

--json prints one object (format ${STATUS_FORMAT}; fields are only ever added):
  { format, version, home, checked_at, health, problems[], warnings[],
    snapshot: null | { path, generation, published_at, age_seconds, data_age_seconds,
                       stale_after_seconds, schema_version, scan_version, etag,
                       upstream_generated_at, base_version, session_count, rejected_rows },
    puller: null | { ...status.json, running, next_tick_due_in_seconds },
    views: [{ name, description, refresh_interval_seconds, key_columns, in_catalog, state,
              materialized_at, age_seconds, row_count, last_duration_ms, last_error,
              last_error_at }] }
  Instants are ISO-8601 UTC, ages are seconds, unknown is null.
`;

const VIEWS_HELP = `
Lists the catalog's views with what the published snapshot holds for each (rows, when it was
materialized, its refresh interval, its last error). Read-only. Exit 0, or 1 when the published
file exists but cannot be read; exit 2 on a bad flag or environment variable.

--json prints { format, version, home, checked_at, generation, published_at, error, views[] }
with views[] as in \`status --json\`.
`;

export function registerOperatorCommands(program: Command, run: Runner): void {
  addConfigOptions(
    program
      .command('status')
      .description("show the published generation, the puller's health and every view's freshness")
      .option('--json', 'print a JSON object (for scripts) instead of the table')
      .option('--strict', 'exit 1 when degraded too, not only when unhealthy')
      .addHelpText('after', STATUS_HELP),
    STATUS_SETTINGS,
  ).action(run(STATUS_SETTINGS, statusCommand));

  addConfigOptions(
    program
      .command('views')
      .description('list the views of the catalog with their row counts and freshness')
      .option('--json', 'print a JSON object (for scripts) instead of the table')
      .addHelpText('after', VIEWS_HELP),
    VIEWS_SETTINGS,
  ).action(run(VIEWS_SETTINGS, viewsCommand));
}
