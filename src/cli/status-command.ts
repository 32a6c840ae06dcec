import type { Config, FlagValues } from '../shared/config.js';
import type { HealthVerdict } from '../shared/health.js';
import { VERSION } from '../shared/version.js';
import { formatCount, formatDuration, instant, relative, secondsSince, table } from './format.js';
import { paintFor, PLAIN, type Paint } from './colour.js';
import { STATUS_FORMAT } from './status-format.js';
import { renderEventLine } from './watch-format.js';
import { buildStatusReport, gather, statusExitCode, viewReports, type StatusReport, type ViewReport, type ViewsReport } from './status-report.js';

export * from './status-report.js';

/**
 * The operator commands: `session-lattice status` and `session-lattice views`.
 *
 * Both only read: status.json (a plain file read) and the published snapshot's `lattice.meta` and
 * `lattice.views`, through one read-only DuckDB instance closed before anything is printed. They
 * never open the puller's working database, never write under the home, and work whether or not
 * the daemons are running.
 */

/** The EVERY column: a view with no interval of its own is refreshed on every load ("EVERY load"). */
function everyCell(seconds: number | null): string {
  if (seconds === null) return '-';
  return seconds === 0 ? 'load' : formatDuration(seconds);
}

function viewsTable(views: ViewReport[], now: number, maxWidth: number | undefined, p: Paint = PLAIN): string {
  const rows = views.map((v) => [
    v.in_catalog ? v.name : `${v.name} (not in catalog)`,
    formatCount(v.row_count),
    v.materialized_at ? relative(secondsSince(v.materialized_at, now) ?? 0) : 'never',
    everyCell(v.refresh_interval_seconds),
    v.state === 'failed' ? `FAILED: ${v.last_error ?? ''}` : v.state === 'not_materialized' ? 'not materialized yet' : 'ok',
  ]);
  // Colour after layout: escape codes would count as width.
  return table(['VIEW', 'ROWS', 'MATERIALIZED', 'EVERY', 'STATE'], rows, { right: [1], maxWidth })
    .split('\n')
    .map((l) => l.replace(/FAILED: .*$/, (m) => p.red(m)))
    .join('\n');
}

function field(label: string, value: string): string {
  return `  ${label.padEnd(15)}${value}`;
}

const HEALTH_COLOUR = { ok: 'green', degraded: 'yellow', failing: 'red', starting: 'red' } as const satisfies Record<HealthVerdict, string>;

export function renderStatus(r: StatusReport, now: number, maxWidth?: number, paint: Paint = PLAIN): string {
  const out: string[] = [];
  const health = paint.bold(paint[HEALTH_COLOUR[r.health]](r.health.toUpperCase()));
  out.push(`session-lattice status: ${health}   (home ${r.home})`);
  for (const p of r.problems) out.push(paint.red(`  ✗ ${p}`));
  for (const w of r.warnings) out.push(paint.yellow(`  ! ${w}`));

  out.push('', 'snapshot');
  const s = r.snapshot;
  if (!s) {
    out.push(field('generation', 'none published yet'));
  } else {
    out.push(field('generation', String(s.generation)));
    out.push(field('published', instant(s.published_at, now)));
    out.push(
      field('data age', s.data_age_seconds === null ? '-' : `${formatDuration(s.data_age_seconds)} (stale after ${formatDuration(s.stale_after_seconds)})`),
    );
    out.push(field('upstream scan', s.scan_version === null ? '-' : `${s.scan_version}${s.etag ? `, etag ${s.etag}` : ''}`));
    out.push(field('sessions', formatCount(s.session_count)));
    out.push(field('time zone', s.timezone ?? '- (published before zones: UTC)'));
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
    out.push(
      field(
        'last tick',
        p.last_tick_finished_at
          ? `${outcome}, ${instant(p.last_tick_finished_at, now)}`
          : p.state === 'pulling'
            ? `in progress since ${instant(p.last_tick_started_at, now)}`
            : outcome,
      ),
    );
    out.push(field('last success', instant(p.last_success_at, now)));
    const errorAge = secondsSince(p.last_error_at, now);
    out.push(field('last error', p.last_error ? `${errorAge === null ? '' : `${relative(errorAge)}: `}${p.last_error}` : '-'));
    out.push(field('failures', `${p.consecutive_failures} consecutive`));
    out.push(field('next tick', p.running && p.next_tick_due_at ? instant(p.next_tick_due_at, now) : '-'));
    out.push(field('interval', formatDuration(p.refresh_interval_seconds)));
    if (p.duckdb) out.push(field('duckdb', `memory limit ${p.duckdb.memory_limit}, ${p.duckdb.threads} threads`));
    if (p.rejected_rows !== null) out.push(field('rejected rows', `${formatCount(p.rejected_rows)} in its last load`));
    const h = p.held_payload;
    if (h) {
      out.push(
        field(
          'held back',
          `${formatCount(h.sessions)} sessions (scan ${h.scan_version ?? '-'}) instead of ${formatCount(h.loaded_sessions)} (scan ${h.loaded_scan_version ?? '-'}), ` +
            `seen on ${h.seen_ticks} of ${h.confirm_ticks} pulls since ${instant(h.first_seen_at, now)}`,
        ),
      );
    }
  }

  if (p) out.push(...sourceLines(p, now));

  const events = r.events ?? [];
  if (events.length > 0) {
    out.push('', `last events (session-lattice watch follows them)`);
    for (const e of events) out.push(`  ${renderEventLine(e.type, JSON.stringify(e), now, paint)}`);
  }

  out.push('', `views (${r.views.length})`);
  out.push(
    viewsTable(r.views, now, maxWidth, paint)
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  return `${out.join('\n')}\n`;
}

/** The sources' sections of status.json: repo-recall's last outcome, and what the transcripts hold. */
function sourceLines(p: NonNullable<StatusReport['puller']>, now: number): string[] {
  const out: string[] = [];
  const recall = p.repo_recall;
  if (recall) {
    out.push('', 'repo-recall');
    out.push(field('url', recall.url));
    out.push(field('last tick', recall.outcome ?? '-'));
    if (recall.last_error)
      out.push(field('failing', `${recall.consecutive_failures} in a row, since ${instant(recall.last_error_at, now)}: ${recall.last_error}`));
  }
  const t = p.transcripts;
  if (t) {
    out.push('', 'transcripts');
    if (t.outcome === 'off') out.push(field('source', 'off (SESSION_LATTICE_TRANSCRIPTS=off, or no Claude Code projects directory found)'));
    for (const d of t.directories) out.push(field('directory', `${d.path}: ${d.readable ? `${formatCount(d.files)} files` : 'cannot be read'}`));
    if (t.outcome !== 'off' && t.directories.length === 0) out.push(field('directory', 'none found'));
    out.push(field('files', formatCount(t.files)));
    out.push(field('messages', `${formatCount(t.messages)} (last tick: ${formatCount(t.added)} added, ${formatCount(t.updated)} updated)`));
    const skipped = t.skipped.malformed + t.skipped.oversized;
    out.push(field('skipped lines', skipped === 0 ? '0' : `${formatCount(t.skipped.malformed)} malformed, ${formatCount(t.skipped.oversized)} oversized`));
    for (const w of t.skipped.worst) out.push(field('', `${w.file}: ${formatCount(w.malformed)} malformed, ${formatCount(w.oversized)} oversized`));
    if (t.last_error) out.push(field('failing', `${t.consecutive_failures} in a row, since ${instant(t.last_error_at, now)}: ${t.last_error}`));
    for (const w of t.warnings) out.push(field('warning', w));
  }
  return out;
}

export function renderViews(r: ViewsReport, now: number, maxWidth?: number, paint: Paint = PLAIN): string {
  const head =
    r.error !== null
      ? `the published snapshot cannot be read: ${r.error}`
      : r.generation === null
        ? `nothing is published yet in ${r.home}; the catalog defines ${r.views.length} views`
        : `generation ${r.generation}, published ${instant(r.published_at, now)}${r.timezone ? `, days in ${r.timezone}` : ''}`;
  return `${head}\n\n${viewsTable(r.views, now, maxWidth, paint)}\n`;
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
  process.stdout.write(wantsJson(flags) ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report, now, terminalWidth(), paintFor(process.stdout)));
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
    timezone: g.snapshot?.meta.timezone ?? null,
    error: g.snapshotError,
    views: viewReports(g.snapshot, now),
  };
  process.stdout.write(wantsJson(flags) ? `${JSON.stringify(report, null, 2)}\n` : renderViews(report, now, terminalWidth(), paintFor(process.stdout)));
  return g.snapshotError ? 1 : 0;
}
