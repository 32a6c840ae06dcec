/**
 * `session-lattice status` and `session-lattice views`, both forms (table and --json), against a
 * known state produced by the real puller (fake repo-recall + `pull`, one of them failing), a
 * running `serve-puller`, and an empty home. The report's logic alone, on hand-made inputs, is in
 * test/unit/status-report.test.ts.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport, ViewsReport } from '../src/cli/status-command.js';
import { CATALOG } from '../src/shared/catalog/index.js';
import { homePaths } from '../src/shared/paths.js';
import type { PullerStatus } from '../src/shared/status.js';
import { describeMessiness } from './fake-recall/generate.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { type Daemon, eventually, runCli, startDaemon, tempHome, type TempHome } from './helpers/processes.js';
import { queryFile } from './helpers/snapshot.js';

const SESSIONS = 200;
const SEED = 11;
const messiness = describeMessiness({ sessions: SESSIONS, seed: SEED });

let recall: FakeRecall;
const homes: TempHome[] = [];
const daemons: Daemon[] = [];

beforeAll(async () => {
  recall = await startFakeRecall({ sessions: SESSIONS, seed: SEED });
});

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
  recall.setFault(null);
});

afterAll(async () => {
  await recall.close();
  await Promise.all(homes.map((h) => h.cleanup()));
});

async function newHome(): Promise<string> {
  const h = await tempHome('lattice-status-');
  homes.push(h);
  return h.dir;
}

async function statusJson(home: string, ...extra: string[]): Promise<{ code: number | null; report: StatusReport }> {
  const r = await runCli(['status', '--home', home, '--json', ...extra]);
  expect(r.stderr).toBe('');
  return { code: r.code, report: JSON.parse(r.stdout) as StatusReport };
}

/** Every file under the home with its size and mtime: status must change none of it. */
async function listing(home: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(home, { recursive: true })).sort()) {
    const s = await stat(`${home}/${name}`);
    out.push(`${name} ${s.isFile() ? `${s.size} ${s.mtimeMs} ${s.ino}` : 'dir'}`);
  }
  return out;
}

/** `  <view>  <rows>  ...` row of the views table. */
function tableRow(text: string, view: string): string | undefined {
  return text.split('\n').find((l) => new RegExp(`^\\s*${view}\\s`).test(l));
}

describe('status and views with nothing published yet', () => {
  it('status says so and exits 1; views lists the catalog and exits 0; nothing is written', async () => {
    const home = await newHome();

    const text = await runCli(['status', '--home', home]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^session-lattice status: STARTING/);
    expect(text.stdout).toContain('nothing is published yet');
    expect(text.stdout).toMatch(/generation\s+none published yet/);
    expect(text.stdout).toContain('no status.json: no puller has run on this home');

    // The home comes from the environment as well as from --home.
    const viaEnv = await runCli(['status', '--json'], { SESSION_LATTICE_HOME: home });
    expect(viaEnv.code).toBe(1);
    const report = JSON.parse(viaEnv.stdout) as StatusReport;
    expect(report).toMatchObject({ format: 2, home, health: 'starting', snapshot: null, puller: null, events: [] });
    expect(report.problems).toEqual(['nothing is published yet']);
    expect(report.warnings).toEqual([expect.stringMatching(/^no puller has run on this home/)]);
    expect(report.reasons).toEqual([...report.problems, ...report.warnings]);
    expect(report.views.map((v) => v.name)).toEqual(CATALOG.map((v) => v.name));
    expect(report.views.every((v) => v.state === 'not_materialized' && v.row_count === null && v.in_catalog)).toBe(true);

    const views = await runCli(['views', '--home', home]);
    expect(views.code).toBe(0);
    expect(views.stdout).toContain(`nothing is published yet in ${home}; the catalog defines ${CATALOG.length} views`);
    for (const v of CATALOG) expect(tableRow(views.stdout, v.name)).toMatch(/never .*not materialized yet/);
    const viewsJson = JSON.parse((await runCli(['views', '--home', home, '--json'])).stdout) as ViewsReport;
    expect(viewsJson).toMatchObject({ format: 2, generation: null, published_at: null, error: null });
    expect(viewsJson.views).toHaveLength(CATALOG.length);

    expect(await readdir(home)).toEqual([]);
  });

  it('a bad --stale-after-intervals is a usage error (exit 2) naming the flag', async () => {
    const r = await runCli(['status', '--home', await newHome(), '--stale-after-intervals', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--stale-after-intervals="soon" is not valid');
  });
});

describe('status and views after a good pull and a failed one', () => {
  let home: string;
  let pullError: string;
  let rowCounts: Map<string, number>;
  /** Just before the good pull: its snapshot cannot be older than the time since. */
  let pullStartedAt: number;

  beforeAll(async () => {
    home = await newHome();
    pullStartedAt = Date.now();
    const ok = await runCli(['pull', '--home', home, '--repo-recall-url', recall.url]);
    expect(ok.code, ok.stderr).toBe(0);
    const rows = await queryFile<{ name: string; n: number }>(
      homePaths(home).published,
      CATALOG.map((v) => `SELECT '${v.name}' AS name, count(*)::INT AS n FROM main.${v.name}`).join(' UNION ALL '),
    );
    rowCounts = new Map(rows.map((r) => [r.name, r.n]));
  });

  it('after the good pull alone: degraded (the one-shot puller is not running), exit 0; --strict exits 1', async () => {
    const { code, report } = await statusJson(home);
    expect(code).toBe(0);
    expect(report.health).toBe('degraded');
    expect(report.problems).toEqual([]);
    expect(report.warnings).toEqual([expect.stringMatching(/^the puller is not running \(pid \d+ stopped\)$/)]);
    expect(report.puller).toMatchObject({ last_tick_outcome: 'published', consecutive_failures: 0, running: false, last_error: null, last_error_code: null });
    expect((await statusJson(home, '--strict')).code).toBe(1);
  });

  it('after one failed pull: degraded with the reason (failing takes 3 in a row), exit 0, the last generation and every view still there', async () => {
    recall.setFault('status-500');
    const failed = await runCli(['pull', '--home', home, '--repo-recall-url', recall.url, '--upstream-retries', '0']);
    expect(failed.code).toBe(1);
    pullError = /error\[upstream\]: pull failed: (.+)/.exec(failed.stderr)?.[1] ?? '';
    expect(pullError).toContain('500');

    const before = await listing(home);
    const published = createHash('sha256')
      .update(await readFile(homePaths(home).published))
      .digest('hex');
    const { code, report } = await statusJson(home);
    expect(code).toBe(0);
    expect(report.health).toBe('degraded');
    expect(report.problems).toEqual([]);
    expect(report.warnings).toEqual([
      `the puller's last tick failed (1 in a row; failing after 3): ${pullError}`,
      expect.stringMatching(/^the puller is not running \(pid \d+ stopped\)$/),
    ]);
    // The puller's history: the failed pull's last events, in order, with contiguous ids.
    const events = report.events ?? [];
    expect(events.map((e) => e.type).slice(-4)).toEqual(['tick_started', 'upstream_error', 'tick_finished', 'puller_stopping']);
    expect(events.at(-2)).toMatchObject({ outcome: 'failed', error: pullError, error_code: 'upstream', error_class: 'status', consecutive_failures: 1 });
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => events[0]!.id + i));
    expect(report.snapshot).toMatchObject({
      path: homePaths(home).published,
      generation: 1,
      schema_version: 1,
      scan_version: recall.scanVersion,
      etag: recall.etag,
      session_count: messiness.validRows,
      rejected_rows: messiness.invalidRows,
    });
    expect(report.snapshot!.age_seconds).toBeGreaterThanOrEqual(0);
    expect(report.snapshot!.age_seconds).toBeLessThanOrEqual((Date.now() - pullStartedAt) / 1000 + 0.1);
    expect(report.snapshot!.stale_after_seconds).toBe(180);
    expect(report.puller).toMatchObject({
      state: 'stopped',
      running: false,
      last_tick_outcome: 'failed',
      last_error: pullError,
      last_error_code: 'upstream',
      consecutive_failures: 1,
      generation: 1,
      next_tick_due_in_seconds: null,
    });
    expect(report.views.map((v) => v.name)).toEqual(CATALOG.map((v) => v.name));
    for (const v of report.views) {
      expect(v, v.name).toMatchObject({ state: 'materialized', in_catalog: true, row_count: rowCounts.get(v.name), last_error: null });
      expect(v.materialized_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(v.age_seconds).toBeGreaterThanOrEqual(0);
    }

    // Reading status changed nothing in the home.
    expect(await listing(home)).toEqual(before);
    expect(
      createHash('sha256')
        .update(await readFile(homePaths(home).published))
        .digest('hex'),
    ).toBe(published);
  });

  it('the table says the same for a person', async () => {
    const r = await runCli(['status', '--home', home]);
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^session-lattice status: DEGRADED/);
    expect(out).toContain(`! the puller's last tick failed (1 in a row; failing after 3): ${pullError}`);
    expect(out).toMatch(/last events \(session-lattice watch follows them\)\n( {2}.*\n)* {2}\d\d:\d\d:\d\d {2}tick failed: .*500/);
    expect(out).toMatch(/generation\s+1\n/);
    expect(out).toMatch(/published\s+\d{4}-\d\d-\d\dT[\d:.]+Z \(\d+ s ago\)/);
    expect(out).toMatch(new RegExp(`sessions\\s+${messiness.validRows}\\n`));
    expect(out).toMatch(new RegExp(`rejected rows\\s+${messiness.invalidRows}\\n`));
    expect(out).toMatch(/process\s+not running \(pid \d+ stopped\)/);
    expect(out).toMatch(/last tick\s+failed, /);
    expect(out).toContain(`last error     `);
    expect(out).toContain(pullError);
    expect(out).toMatch(/failures\s+1 consecutive/);
    expect(out).toMatch(/next tick\s+-\n/);
    expect(out).toContain(`views (${CATALOG.length})`);
    expect(out).toMatch(/VIEW\s+ROWS\s+MATERIALIZED\s+EVERY\s+STATE/);
    for (const v of CATALOG) {
      expect(tableRow(out, v.name), v.name).toMatch(
        new RegExp(`^\\s+${v.name}\\s+${rowCounts.get(v.name)!.toLocaleString('en-US')}\\s+\\d+ s ago\\s+.+\\s+ok$`),
      );
      // A view without an interval of its own is refreshed on every load: "EVERY load", not "EVERY 0 s".
      if (v.refreshIntervalSeconds === 0) expect(tableRow(out, v.name), v.name).toMatch(/ago\s+load\s+ok$/);
      expect(tableRow(out, v.name), v.name).not.toMatch(/\s0 s\s+ok$/);
    }
  });

  it('views: the catalog with row counts and freshness, in both forms', async () => {
    const text = await runCli(['views', '--home', home]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^generation 1, published \d{4}-/);
    for (const v of CATALOG) expect(tableRow(text.stdout, v.name)).toContain(rowCounts.get(v.name)!.toLocaleString('en-US'));

    const json = await runCli(['views', '--home', home, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as ViewsReport;
    expect(report).toMatchObject({ format: 2, home, generation: 1, error: null });
    expect(report.views.map((v) => [v.name, v.row_count, v.state])).toEqual(CATALOG.map((v) => [v.name, rowCounts.get(v.name), 'materialized']));
    const def = CATALOG[0]!;
    expect(report.views[0]).toMatchObject({
      description: def.description,
      refresh_interval_seconds: def.refreshIntervalSeconds,
      key_columns: [...def.keyColumns],
    });
  });
});

describe('status with a running puller', () => {
  it('reports it running with its next tick; once stopped, degraded', async () => {
    const home = await newHome();
    const d = startDaemon(['serve-puller', '--home', home, '--repo-recall-url', recall.url, '--refresh-interval-seconds', '3600']);
    daemons.push(d);
    const ticked = await eventually(async () => {
      try {
        const s = JSON.parse(await readFile(homePaths(home).status, 'utf8')) as PullerStatus;
        return s.last_tick_outcome === 'published' && s.next_tick_due_at ? s : undefined;
      } catch {
        return undefined;
      }
    }, 'the first tick');
    const dueAt = Date.parse(ticked.next_tick_due_at!);
    /** What `status` can say is left until the next tick, given when it ran: however long that took. */
    const dueIn = async <T>(run: () => Promise<T>): Promise<{ result: T; min: number; max: number }> => {
      const before = Date.now();
      const result = await run();
      return { result, min: (dueAt - Date.now()) / 1000, max: (dueAt - before) / 1000 };
    };

    const json = await dueIn(() => statusJson(home));
    const { code, report } = json.result;
    expect(code).toBe(0);
    expect(report.health).toBe('ok');
    expect(report.problems).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.puller).toMatchObject({ pid: d.pid, running: true, state: 'idle', last_tick_outcome: 'published', refresh_interval_seconds: 3600 });
    // Reported to the tenth of a second.
    expect(report.puller!.next_tick_due_in_seconds).toBeGreaterThanOrEqual(json.min - 0.1);
    expect(report.puller!.next_tick_due_in_seconds).toBeLessThanOrEqual(Math.min(json.max + 0.1, 3600));
    expect(report.snapshot!.stale_after_seconds).toBe(3 * 3600);

    const shown = await dueIn(() => runCli(['status', '--home', home]));
    const text = shown.result;
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^session-lattice status: OK/);
    expect(text.stdout).toContain(`running, pid ${d.pid} (idle)`);
    const minutes = Number(/next tick\s+\S+ \(in (\d+) min\)/.exec(text.stdout)?.[1]);
    // Whole minutes, from seconds rounded once to the tenth and once to the second.
    expect(minutes).toBeGreaterThanOrEqual(Math.floor((shown.min - 1) / 60));
    expect(minutes).toBeLessThanOrEqual(Math.floor((shown.max + 1) / 60));
    expect(text.stdout).toMatch(/interval\s+1 h\n/);

    await d.stop('SIGTERM');
    const after = await statusJson(home);
    expect(after.code).toBe(0);
    expect(after.report.health).toBe('degraded');
    expect(after.report.warnings).toEqual([`the puller is not running (pid ${d.pid} stopped)`]);
  });
});
