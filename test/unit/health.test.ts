import { describe, expect, it } from 'vitest';
import {
  assessHealth,
  DISK_FULL_BYTES,
  FAILING_AFTER_FAILED_TICKS,
  HEALTH_VERDICTS,
  healthExitCode,
  healthHttpStatus,
  type HealthInputs,
  type HealthVerdict,
} from '../../src/shared/health.js';
import type { PullerStatus } from '../../src/shared/status.js';

/**
 * The one health verdict (src/shared/health.ts) as a table: each row is a situation a person can
 * be in, the verdict it must give, and the reasons (as patterns, failing ones first).
 */

const NOW = Date.parse('2026-06-17T15:00:00Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

function status(patch: Partial<PullerStatus> = {}): PullerStatus {
  return {
    pid: 4242,
    version: '0.1.0',
    started_at: ago(3600),
    refresh_interval_seconds: 60,
    state: 'idle',
    last_tick_started_at: ago(11),
    last_tick_finished_at: ago(10),
    last_tick_outcome: 'unchanged',
    last_success_at: ago(10),
    last_error: null,
    last_error_at: null,
    consecutive_failures: 0,
    next_tick_due_at: ago(-50),
    generation: 3,
    scan_version: 7,
    rejected_rows: 0,
    view_errors: {},
    held_payload: null,
    ...patch,
  };
}

const failed = (n: number, error = 'repo-recall answered 500') =>
  status({ last_tick_outcome: 'failed', consecutive_failures: n, last_error: error, last_error_at: ago(5), last_success_at: ago(20) });

const snapshot = (publishedSecondsAgo = 30, views: Array<{ name: string; last_error: string | null }> = [{ name: 'sessions', last_error: null }]) => ({
  generation: 3,
  published_at: ago(publishedSecondsAgo),
  views,
});

function input(patch: Partial<HealthInputs>): HealthInputs {
  return {
    snapshot: snapshot(),
    snapshotError: null,
    status: status(),
    statusError: null,
    pullerRunning: true,
    now: NOW,
    settings: { staleAfterIntervals: 3, refreshIntervalSeconds: 60 },
    ...patch,
  };
}

const held = {
  reasons: ['it has 10 sessions where 1,000 are loaded (99% fewer)'],
  sessions: 10,
  scan_version: 8,
  loaded_sessions: 1000,
  loaded_scan_version: 7,
  seen_ticks: 1,
  confirm_ticks: 3,
  first_seen_at: ago(5),
  fingerprint: 'abc',
};

const transcriptsRead = (patch: Partial<NonNullable<PullerStatus['transcripts']>> = {}): NonNullable<PullerStatus['transcripts']> => ({
  outcome: 'read',
  directories: [{ path: '/home/u/.claude/projects', readable: true, files: 3 }],
  files: 3,
  messages: 120,
  added: 4,
  updated: 0,
  skipped: { malformed: 0, oversized: 0, worst: [] },
  warnings: [],
  last_error: null,
  last_error_at: null,
  consecutive_failures: 0,
  ...patch,
});
const recallDown = (n: number): PullerStatus['repo_recall'] => ({
  url: 'http://127.0.0.1:7777',
  outcome: 'failed',
  last_error: 'cannot reach repo-recall at http://127.0.0.1:7777 (connection refused): start repo-recall there',
  last_error_at: ago(10),
  consecutive_failures: n,
});

const CASES: Array<{ name: string; input: HealthInputs; verdict: HealthVerdict; reasons: RegExp[] }> = [
  { name: 'a running puller, current data', input: input({}), verdict: 'ok', reasons: [] },
  {
    name: 'repo-recall unreachable while the transcripts are read and published: degraded naming repo-recall, however long it lasts',
    input: input({ status: status({ last_tick_outcome: 'published', repo_recall: recallDown(40), transcripts: transcriptsRead() }) }),
    verdict: 'degraded',
    reasons: [
      /^repo-recall at http:\/\/127\.0\.0\.1:7777 failed \(40 ticks in a row\): cannot reach repo-recall at .*; the transcripts were read and published without it \(120 messages\)$/,
    ],
  },
  {
    name: 'a first publish from the transcripts alone, repo-recall never there: degraded, not starting',
    input: input({
      snapshot: snapshot(5),
      status: status({ last_tick_outcome: 'published', generation: 1, repo_recall: recallDown(1), transcripts: transcriptsRead() }),
    }),
    verdict: 'degraded',
    reasons: [/^repo-recall at http:\/\/127\.0\.0\.1:7777 failed: cannot reach repo-recall/],
  },
  {
    name: "the transcripts failing while repo-recall's sessions publish: degraded naming the transcripts",
    input: input({
      status: status({
        repo_recall: { url: 'http://127.0.0.1:7777', outcome: 'loaded', last_error: null, last_error_at: null, consecutive_failures: 0 },
        transcripts: transcriptsRead({
          outcome: 'failed',
          last_error: 'the transcripts could not be read: boom',
          last_error_at: ago(10),
          consecutive_failures: 2,
        }),
      }),
    }),
    verdict: 'degraded',
    reasons: [/^the transcripts could not be read: boom \(2 ticks in a row\); repo-recall's sessions were published without them$/],
  },
  {
    name: 'a transcripts directory that cannot be read: degraded naming it',
    input: input({ status: status({ transcripts: transcriptsRead({ directories: [{ path: '/srv/none', readable: false, files: 0 }] }) }) }),
    verdict: 'degraded',
    reasons: [/^the transcripts directory \/srv\/none cannot be read: the usage in it is missing$/],
  },
  {
    name: 'every source failing is a failed tick: the per-source reasons are not repeated',
    input: input({ status: { ...failed(3, 'cannot reach repo-recall'), repo_recall: recallDown(3), transcripts: transcriptsRead({ outcome: 'off' }) } }),
    verdict: 'failing',
    reasons: [/^the puller's last 3 ticks failed: cannot reach repo-recall$/],
  },
  {
    name: 'an unchanged tick keeps old data current (its age counts from the last success)',
    input: input({ snapshot: snapshot(86_400), status: status({ last_success_at: ago(10) }) }),
    verdict: 'ok',
    reasons: [],
  },
  {
    name: 'nothing published, first pull under way',
    input: input({ snapshot: null, status: status({ last_tick_outcome: null, generation: null }) }),
    verdict: 'starting',
    reasons: [/^nothing is published yet$/],
  },
  {
    name: 'nothing published, no puller ever ran',
    input: input({ snapshot: null, status: null, pullerRunning: false }),
    verdict: 'starting',
    reasons: [/^nothing is published yet$/, /^no puller has run on this home: start one/],
  },
  {
    name: 'a published snapshot but no puller ever ran on this home',
    input: input({ status: null, pullerRunning: false }),
    verdict: 'degraded',
    reasons: [/^no puller has run on this home/],
  },
  {
    name: 'one failed tick is a blip: degraded, with the count and the error',
    input: input({ status: failed(1) }),
    verdict: 'degraded',
    reasons: [/^the puller's last tick failed \(1 in a row; failing after 3\): repo-recall answered 500$/],
  },
  { name: 'two failed ticks', input: input({ status: failed(2) }), verdict: 'degraded', reasons: [/^the puller's last tick failed \(2 in a row/] },
  {
    name: 'three failed ticks in a row: failing',
    input: input({ status: failed(3) }),
    verdict: 'failing',
    reasons: [/^the puller's last 3 ticks failed: repo-recall answered 500$/],
  },
  {
    name: 'failing before anything was published is failing, not starting',
    input: input({ snapshot: null, status: failed(5, 'nothing answers at http://127.0.0.1:7777') }),
    verdict: 'failing',
    reasons: [/^the puller's last 5 ticks failed: nothing answers/, /^nothing is published yet$/],
  },
  {
    name: 'a tick that succeeded after failures clears them',
    input: input({ status: status({ consecutive_failures: 0, last_error: 'old error', last_error_at: ago(100) }) }),
    verdict: 'ok',
    reasons: [],
  },
  {
    name: 'stale data: failing, in words',
    input: input({ snapshot: snapshot(4000), status: status({ last_success_at: ago(4000) }) }),
    verdict: 'failing',
    reasons: [/^the data is stale: last known current 67 min ago, more than 3 refresh intervals \(3 min\)$/],
  },
  {
    name: "staleness follows the puller's own interval, not the reader's default",
    input: input({ snapshot: snapshot(4000), status: status({ refresh_interval_seconds: 3600, last_success_at: ago(4000) }) }),
    verdict: 'ok',
    reasons: [],
  },
  {
    name: 'just under stale-after: still ok',
    input: input({ snapshot: snapshot(179), status: status({ last_success_at: ago(179) }) }),
    verdict: 'ok',
    reasons: [],
  },
  {
    name: 'the puller stopped cleanly, data still current: degraded',
    input: input({ status: status({ state: 'stopped' }), pullerRunning: false }),
    verdict: 'degraded',
    reasons: [/^the puller is not running \(pid 4242 stopped\)$/],
  },
  {
    name: 'the puller is gone and the data went stale: failing first, then why',
    input: input({ snapshot: snapshot(7200), status: status({ last_success_at: ago(7200) }), pullerRunning: false }),
    verdict: 'failing',
    reasons: [/^the data is stale: last known current 2 h ago/, /^the puller is not running \(pid 4242 is gone without stopping cleanly\)$/],
  },
  {
    name: 'a view failed to refresh',
    input: input({
      snapshot: snapshot(30, [
        { name: 'sessions', last_error: null },
        { name: 'usage_daily', last_error: 'Binder Error: x' },
      ]),
    }),
    verdict: 'degraded',
    reasons: [/^view usage_daily failed to refresh: Binder Error: x$/],
  },
  {
    name: 'a payload held back by the shrink guard',
    input: input({ status: status({ held_payload: held }) }),
    verdict: 'degraded',
    reasons: [/^the puller is holding back what repo-recall sent: it has 10 sessions.*Seen on 1 of 3 consecutive pulls/],
  },
  {
    name: 'status.json cannot be read',
    input: input({ status: null, statusError: 'Unexpected token', pullerRunning: false }),
    verdict: 'degraded',
    reasons: [/^the puller's status cannot be read: Unexpected token$/],
  },
  {
    name: 'the published snapshot cannot be opened and nothing else is served',
    input: input({ snapshot: null, snapshotError: 'not a DuckDB file' }),
    verdict: 'failing',
    reasons: [/^the published snapshot cannot be opened: not a DuckDB file$/],
  },
  {
    name: 'a newer snapshot cannot be opened while an older one is served',
    input: input({ snapshotError: 'not a DuckDB file' }),
    verdict: 'degraded',
    reasons: [/^a newer published snapshot cannot be opened: not a DuckDB file$/],
  },
  {
    name: 'an older generation kept because the newer one cannot be opened ages from its publish, whatever the puller does',
    input: input({ snapshot: snapshot(4000), snapshotError: 'not a DuckDB file', status: status({ generation: 4, last_success_at: ago(5) }) }),
    verdict: 'failing',
    reasons: [/^the data is stale: last known current 67 min ago/, /^a newer published snapshot cannot be opened: not a DuckDB file$/],
  },
  {
    name: "plenty of room on the home's disk says nothing",
    input: input({ disk: { home: '/h', freeBytes: 5e9, publishedBytes: 40e6 } }),
    verdict: 'ok',
    reasons: [],
  },
  {
    name: 'a full disk is failing at once, with the free space, even when status.json (left from before) says all is well',
    input: input({ disk: { home: '/h', freeBytes: 0, publishedBytes: 40e6 } }),
    verdict: 'failing',
    reasons: [/^no space left on device at \/h, 0 B free: the puller cannot write/],
  },
  {
    name: 'a full disk before anything was published is failing, not starting',
    input: input({ snapshot: null, status: null, pullerRunning: false, disk: { home: '/h', freeBytes: 400_000, publishedBytes: null } }),
    verdict: 'failing',
    reasons: [/^no space left on device at \/h, 391 KiB free/, /^nothing is published yet$/, /^no puller has run on this home/],
  },
  {
    name: 'less room than the published file: the next publish cannot fit',
    input: input({ disk: { home: '/h', freeBytes: 25e6, publishedBytes: 40e6 } }),
    verdict: 'failing',
    reasons: [/^not enough space left on device at \/h to publish, 23\.8 MiB free: a publish copies the working database, at least 38\.1 MiB/],
  },
  {
    name: 'a little room with nothing published yet is not a problem',
    input: input({ snapshot: null, disk: { home: '/h', freeBytes: 5e6, publishedBytes: null } }),
    verdict: 'starting',
    reasons: [/^nothing is published yet$/],
  },
  {
    name: 'the disk could not be asked: nothing said',
    input: input({ disk: null }),
    verdict: 'ok',
    reasons: [],
  },
  {
    name: 'everything at once: failing reasons first, each kind in its fixed order',
    input: input({
      snapshot: snapshot(7200, [{ name: 'tools', last_error: 'boom' }]),
      status: { ...failed(4), last_success_at: ago(7200), held_payload: held },
      pullerRunning: false,
    }),
    verdict: 'failing',
    reasons: [
      /^the data is stale/,
      /^the puller's last 4 ticks failed/,
      /^the puller is holding back/,
      /^the puller is not running/,
      /^view tools failed to refresh: boom$/,
    ],
  },
];

describe('the health verdict (one pure function for /healthz, status, MCP and the UI)', () => {
  it.each(CASES)('$name: $verdict', ({ input: i, verdict, reasons }) => {
    const got = assessHealth(i);
    expect(got.verdict).toBe(verdict);
    expect(got.reasons).toHaveLength(reasons.length);
    got.reasons.forEach((r, n) => expect(r.text).toMatch(reasons[n]!));
    // Severity and verdict agree: failing reasons make it failing, and only they do.
    expect(got.reasons.some((r) => r.severity === 'failing')).toBe(verdict === 'failing');
  });

  it('reports the data age from the later of the publish and the last success, and the stale threshold', () => {
    const got = assessHealth(input({ snapshot: snapshot(500), status: status({ last_success_at: ago(12.34) }) }));
    expect(got.dataAgeSeconds).toBe(12.3);
    expect(got.staleAfterSeconds).toBe(180);
    // A success recorded for an older generation than the one served does not make it younger.
    const older = assessHealth(input({ snapshot: snapshot(500), status: status({ generation: 2, last_success_at: ago(5) }) }));
    expect(older.dataAgeSeconds).toBe(500);
    expect(assessHealth(input({ snapshot: null })).dataAgeSeconds).toBeNull();
  });

  it('maps each verdict to one HTTP status and one exit code', () => {
    expect(
      (['ok', 'degraded', 'failing', 'starting'] as const).map((v) => [v, healthHttpStatus(v), healthExitCode(v, false), healthExitCode(v, true)]),
    ).toEqual([
      ['ok', 200, 0, 0],
      ['degraded', 200, 0, 1],
      ['failing', 503, 1, 1],
      ['starting', 503, 1, 1],
    ]);
  });
});

describe('the health verdict at its boundaries (each limit on both sides)', () => {
  const verdictOf = (patch: Partial<HealthInputs>) => assessHealth(input(patch)).verdict;
  const disk = (freeBytes: number, publishedBytes: number | null = null) => ({ disk: { home: '/h', freeBytes, publishedBytes } });

  it.each([
    // 3 intervals of 60 s: stale only past 180 s.
    ['data exactly stale-after old', 180, 'ok'],
    ['data a second past stale-after', 181, 'failing'],
  ] as const)('%s: %s s -> %s', (_, age, verdict) => {
    expect(verdictOf({ snapshot: snapshot(age), status: status({ last_success_at: ago(age) }) })).toBe(verdict);
  });

  it("stale-after scales with the setting and with the puller's interval", () => {
    const aged = (age: number, staleAfterIntervals: number, interval = 60) =>
      verdictOf({
        snapshot: snapshot(age),
        status: status({ last_success_at: ago(age), refresh_interval_seconds: interval }),
        settings: { staleAfterIntervals, refreshIntervalSeconds: 60 },
      });
    expect([aged(300, 5), aged(301, 5), aged(600, 2, 300), aged(601, 2, 300)]).toEqual(['ok', 'failing', 'ok', 'failing']);
  });

  it(`failed ticks: ${FAILING_AFTER_FAILED_TICKS - 1} in a row is degraded, ${FAILING_AFTER_FAILED_TICKS} is failing`, () => {
    expect(verdictOf({ status: failed(FAILING_AFTER_FAILED_TICKS - 1) })).toBe('degraded');
    expect(verdictOf({ status: failed(FAILING_AFTER_FAILED_TICKS) })).toBe('failing');
  });

  it('a disk with exactly the reserve free is not full; a byte less is', () => {
    expect(verdictOf(disk(DISK_FULL_BYTES))).toBe('ok');
    expect(verdictOf(disk(DISK_FULL_BYTES - 1))).toBe('failing');
  });

  it('room for exactly one more published file is enough; a byte less is not', () => {
    expect(verdictOf(disk(40e6, 40e6))).toBe('ok');
    expect(verdictOf(disk(40e6 - 1, 40e6))).toBe('failing');
  });

  it('every verdict the type names is reachable, and nothing else comes out', () => {
    const seen = new Set(CASES.map((c) => assessHealth(c.input).verdict));
    expect([...seen].sort()).toEqual([...HEALTH_VERDICTS].sort());
  });
});
