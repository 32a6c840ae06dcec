import { describe, expect, it } from 'vitest';
import { buildStatusReport, renderStatus, statusExitCode } from '../../src/cli/status-command.js';
import { CATALOG } from '../../src/shared/catalog/index.js';
import type { ViewState } from '../../src/shared/snapshot.js';
import type { PullerStatus } from '../../src/shared/status.js';

/*
 * `session-lattice status`'s report from hand-made inputs: no processes, no files. The command
 * itself, against a real puller's home, is test/status.test.ts.
 */

/** `  <view>  <rows>  ...` row of the views table. */
function tableRow(text: string, view: string): string | undefined {
  return text.split('\n').find((l) => new RegExp(`^\\s*${view}\\s`).test(l));
}

describe('status report logic (no processes)', () => {
  const now = Date.parse('2026-03-01T12:00:00.000Z');
  const iso = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();
  const viewState = (name: string, patch: Partial<ViewState> = {}): ViewState => ({
    name,
    description: `${name} description`,
    refresh_interval_seconds: 60,
    key_columns: ['k'],
    materialized_at: iso(30),
    row_count: 7,
    watermark: 1,
    scan_version: 3,
    last_duration_ms: 1.5,
    last_error: null,
    last_error_at: null,
    stale: patch.last_error != null,
    ...patch,
  });
  const pullerStatus = (patch: Partial<PullerStatus> = {}): PullerStatus => ({
    pid: 4242,
    version: '0.1.0',
    started_at: iso(600),
    refresh_interval_seconds: 60,
    state: 'idle',
    last_tick_started_at: iso(31),
    last_tick_finished_at: iso(30),
    last_tick_outcome: 'published',
    last_success_at: iso(30),
    last_error: null,
    last_error_at: null,
    consecutive_failures: 0,
    next_tick_due_at: iso(-30),
    generation: 5,
    scan_version: 3,
    rejected_rows: 0,
    view_errors: {},
    held_payload: null,
    ...patch,
  });
  const snapshot = (views: ViewState[], publishedSecondsAgo = 30) => ({
    meta: {
      generation: 5,
      published_at: iso(publishedSecondsAgo),
      schema_version: 1,
      scan_version: 3,
      etag: '"3"',
      upstream_generated_at: null,
      timezone: 'UTC',
      base_version: 4,
      session_count: 10,
      rejected_rows: 0,
    },
    views,
  });
  const build = (g: Parameters<typeof buildStatusReport>[1], alive = true) =>
    buildStatusReport('/h', g, { now, staleAfterIntervals: 3, defaultIntervalSeconds: 60, alive: () => alive });

  it('a view whose refresh failed keeps its rows, is reported, and degrades the health', () => {
    const [first, second] = CATALOG;
    const report = build({
      snapshot: snapshot([viewState(first!.name), viewState(second!.name, { last_error: 'Binder Error: boom', last_error_at: iso(30) })]),
      snapshotError: null,
      status: pullerStatus(),
      statusError: null,
    });
    expect(report.health).toBe('degraded');
    expect(report.warnings).toEqual([`view ${second!.name} failed to refresh: Binder Error: boom`]);
    expect(statusExitCode(report, false)).toBe(0);
    expect(statusExitCode(report, true)).toBe(1);
    const failed = report.views.find((v) => v.name === second!.name)!;
    expect(failed).toMatchObject({ state: 'failed', row_count: 7, last_error: 'Binder Error: boom', age_seconds: 30 });
    // Views of the catalog the snapshot does not hold yet are listed, not materialized.
    expect(report.views.find((v) => v.name === CATALOG[2]!.name)).toMatchObject({ state: 'not_materialized', row_count: null });

    const text = renderStatus(report, now);
    expect(text).toMatch(/^session-lattice status: DEGRADED/);
    expect(tableRow(text, second!.name)).toMatch(/7\s+30 s ago\s+1 min\s+FAILED: Binder Error: boom$/);
    expect(tableRow(text, first!.name)).toMatch(/7\s+30 s ago\s+1 min\s+ok$/);
    expect(text).toMatch(/next tick\s+2026-03-01T12:00:30.000Z \(in 30 s\)/);
  });

  it('a view only the snapshot holds is listed as not in the catalog; a long error is cut to the terminal width', () => {
    const report = build({
      snapshot: snapshot([viewState('retired_view', { last_error: 'x'.repeat(500) })]),
      snapshotError: null,
      status: pullerStatus(),
      statusError: null,
    });
    const retired = report.views.at(-1)!;
    expect(retired).toMatchObject({ name: 'retired_view', in_catalog: false, state: 'failed' });
    const text = renderStatus(report, now, 100);
    expect(tableRow(text, 'retired_view')).toMatch(/^ {2}retired_view \(not in catalog\)/);
    for (const line of text.split('\n').filter((l) => l.includes('retired_view'))) {
      if (line.includes('(not in catalog)')) expect(line.length).toBeLessThanOrEqual(102);
    }
  });

  it('old data, a dead puller and an unreadable snapshot', () => {
    const stale = build({ snapshot: snapshot([], 4000), snapshotError: null, status: pullerStatus({ last_success_at: iso(4000) }), statusError: null }, false);
    expect(stale.health).toBe('failing');
    expect(stale.problems).toEqual(['the data is stale: last known current 67 min ago, more than 3 refresh intervals (3 min)']);
    expect(stale.warnings).toEqual(['the puller is not running (pid 4242 is gone without stopping cleanly)']);
    expect(statusExitCode(stale, false)).toBe(1);
    expect(stale.puller!.next_tick_due_in_seconds).toBeNull();

    const unreadable = build({ snapshot: null, snapshotError: 'IO Error: nope', status: null, statusError: null });
    expect(unreadable.health).toBe('failing');
    expect(unreadable.problems).toEqual(['the published snapshot cannot be opened: IO Error: nope']);
    expect(statusExitCode(unreadable, false)).toBe(1);
  });
});
