import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG } from '../src/shared/catalog/index.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { runCli, tempHome, type TempHome } from './helpers/processes.js';
import { queryFile } from './helpers/snapshot.js';
import { ALL_HAZARDS, generateTranscripts } from './helpers/transcripts/generate.js';

/*
 * Every view on a generated messy payload of 5k sessions (nulls, unicode, case-variant tools,
 * unreadable counts, multi-repo and repo-less sessions, invalid rows): keys unique and never NULL,
 * rows stored in key order, and the views agree with the base tables and with each other. The keys
 * and order are checked on the same payload with generated transcripts beside it (every hazard of
 * the generator, in a zone half an hour off UTC), so that the views over API responses
 * (usage_hourly) have rows too.
 */
const SESSIONS = 5000;

function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

describe(`views on ${SESSIONS} generated messy sessions`, () => {
  let recall: FakeRecall;
  let home: TempHome;
  let file: string;
  let transcriptsHome: TempHome;
  let transcripts: string;
  /** The same payload, with generated transcripts, materialized in Asia/Kolkata. */
  let withTranscripts: string;

  async function value(sql: string): Promise<number> {
    const [row] = await queryFile<{ v: number | null }>(file, `SELECT (${sql})::DOUBLE AS v`);
    return row?.v ?? Number.NaN;
  }

  beforeAll(async () => {
    recall = await startFakeRecall({ sessions: 0 });
    await recall.setData({ sessions: SESSIONS, seed: 5, messy: true });
    home = await tempHome('lattice-views-keys-');
    const r = await runCli(['pull', '--home', home.dir, '--repo-recall-url', recall.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/views failed/);
    file = join(home.dir, 'session-lattice.duckdb');

    transcripts = mkdtempSync(join(tmpdir(), 'lattice-views-keys-transcripts-'));
    generateTranscripts({
      projects: join(transcripts, 'projects'),
      seed: 5,
      sessions: 30,
      start: '2025-10-30T12:00:00Z',
      days: 5,
      zones: ['Asia/Kolkata'],
      hazards: ALL_HAZARDS,
    });
    transcriptsHome = await tempHome('lattice-views-keys-');
    const t = await runCli(['pull', '--home', transcriptsHome.dir, '--repo-recall-url', recall.url, '--transcripts', join(transcripts, 'projects')], {
      SESSION_LATTICE_TIMEZONE: 'Asia/Kolkata',
    });
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).not.toMatch(/views failed/);
    withTranscripts = join(transcriptsHome.dir, 'session-lattice.duckdb');
  });

  afterAll(async () => {
    await recall?.close();
    await home?.cleanup();
    await transcriptsHome?.cleanup();
    if (transcripts) rmSync(transcripts, { recursive: true, force: true });
  });

  it.each(CATALOG.map((v) => [v.name, v] as const))('%s: rows, unique non-null keys, stored in key order', async (_name, view) => {
    const keys = view.keyColumns.map(q).join(', ');
    const table = `main.${q(view.name)}`;
    const count = async (f: string, sql: string) => Number((await queryFile<{ v: number }>(f, `SELECT (${sql})::DOUBLE AS v`))[0]?.v);
    // usage_hourly holds API responses only: none without transcripts
    for (const f of view.name === 'usage_hourly' ? [withTranscripts] : [file, withTranscripts]) {
      expect(await count(f, `SELECT count(*) FROM ${table}`)).toBeGreaterThan(0);
      expect(await count(f, `SELECT count(*) FROM (SELECT ${keys} FROM ${table} GROUP BY ${keys} HAVING count(*) > 1)`)).toBe(0);
      const anyNull = view.keyColumns.map((k) => `${q(k)} IS NULL`).join(' OR ');
      expect(await count(f, `SELECT count(*) FROM ${table} WHERE ${anyNull}`)).toBe(0);
      // The rows as stored (no ORDER BY) come back in key order.
      const asStored = await queryFile<Record<string, unknown>>(f, `SELECT ${keys} FROM ${table}`);
      const sorted = await queryFile<Record<string, unknown>>(f, `SELECT ${keys} FROM ${table} ORDER BY ${keys}`);
      expect(asStored).toEqual(sorted);
    }
    if (view.name === 'usage_hourly') expect(await count(file, `SELECT count(*) FROM ${table}`)).toBe(0);
  });

  it('the messy payload exercises the tricky cases', async () => {
    expect(await value(`SELECT count(*) FROM base.sessions WHERE started_at IS NULL`)).toBeGreaterThan(0);
    expect(await value(`SELECT count(*) FROM base.sessions WHERE NOT tool_counts_ok`)).toBeGreaterThan(0);
    expect(await value(`SELECT count(*) FROM base.sessions WHERE NOT stop_reasons_ok`)).toBeGreaterThan(0);
    expect(await value(`SELECT count(*) FROM session_facts WHERE repo_count = 0`)).toBeGreaterThan(0);
    expect(await value(`SELECT count(*) FROM session_facts WHERE repo_count > 1`)).toBeGreaterThan(0);
    expect(await value(`SELECT count(*) FROM tool_sessions WHERE tool_name IN ('bash', 'read', 'webfetch')`)).toBeGreaterThan(0);
    expect(await value(`SELECT count(*) FROM sessions_without_repo WHERE cwd = ''`)).toBeGreaterThan(0);
  });

  it('the views agree with the base tables and with each other', async () => {
    const sessions = await value('SELECT count(*) FROM base.sessions');
    const dated = await value('SELECT count(*) FROM base.sessions WHERE started_at IS NOT NULL');
    expect(await value('SELECT count(*) FROM session_facts')).toBe(sessions);
    expect(await value('SELECT count(*) FROM session_stop_reasons')).toBe(sessions);
    for (const v of ['daily_activity', 'usage_daily', 'usage_weekly', 'usage_monthly', 'usage_blocks', 'activity_heatmap']) {
      expect(await value(`SELECT sum(session_count) FROM ${v}`), v).toBe(dated);
    }
    expect(await value('SELECT sum(total_tokens) FROM daily_activity')).toBe(
      await value('SELECT sum(total_tokens) FROM session_facts WHERE started_at IS NOT NULL'),
    );
    expect(await value('SELECT sum(calls) FROM tool_usage')).toBe(await value('SELECT sum(calls) FROM base.tool_calls'));
    expect(await value('SELECT sum(calls) FROM tool_monthly')).toBe(await value('SELECT sum(tool_calls) FROM daily_activity'));
    expect(
      await value(
        'SELECT count(*) FROM tool_sessions t JOIN tool_usage u USING (tool_name) WHERE t.session_count <> u.session_count OR len(t.session_ids) <> t.session_count',
      ),
    ).toBe(0);
    expect(await value('SELECT count(*) FROM tool_sessions t JOIN tool_adoption a USING (tool_name) WHERE t.session_count <> a.session_count')).toBe(0);
    expect(await value('SELECT sum(session_count) FROM repo_sessions')).toBe(await value('SELECT sum(repo_count) FROM session_facts'));
    expect(await value('SELECT sum(session_count) FROM repo_tokens')).toBe(await value('SELECT sum(session_count) FROM repo_sessions'));
    expect(await value('SELECT sum(session_count) FROM sessions_without_repo')).toBe(await value('SELECT count(*) FROM session_facts WHERE repo_count = 0'));
    expect(await value('SELECT sum(session_count) FROM model_sessions')).toBe(await value('SELECT sum(model_count) FROM session_facts'));
    expect(await value('SELECT sum(total_tokens) FROM model_daily_tokens')).toBe(
      await value('SELECT sum(total_tokens * model_count) FROM session_facts WHERE started_at IS NOT NULL'),
    );
    expect(await value('SELECT sum(occurrences) FROM stop_reason_totals')).toBe(await value('SELECT sum(count) FROM base.stop_reasons'));
    expect(await value('SELECT round(sum(session_share), 2) FROM activity_heatmap')).toBe(1);
    expect(await value('SELECT count(*) FROM activity_heatmap')).toBe(168);
    // cost: every usage view adds up to what the sessions cost; only unpriced sessions have none
    const datedCost = await value('SELECT sum(cost_usd) FROM session_facts WHERE started_at IS NOT NULL');
    const datedCostLow = await value('SELECT sum(cost_usd_low) FROM session_facts WHERE started_at IS NOT NULL');
    expect(datedCost).toBeGreaterThan(0);
    const datedUnpriced = await value("SELECT count(*) FROM session_facts WHERE started_at IS NOT NULL AND cost_basis = 'unpriced'");
    expect(datedUnpriced).toBeGreaterThan(0);
    for (const v of ['usage_daily', 'usage_weekly', 'usage_monthly', 'usage_blocks']) {
      // to the cent: each bucket's sum is rounded to 6 decimals
      expect(await value(`SELECT sum(cost_usd) FROM ${v}`), v).toBeCloseTo(datedCost, 2);
      expect(await value(`SELECT sum(cost_usd_low) FROM ${v}`), v).toBeCloseTo(datedCostLow, 2);
      expect(await value(`SELECT sum(unpriced_sessions) FROM ${v}`), v).toBe(datedUnpriced);
    }
    expect(await value("SELECT count(*) FROM session_facts WHERE (cost_usd IS NULL) <> (cost_basis = 'unpriced')")).toBe(0);
    expect(await value('SELECT count(*) FROM session_facts WHERE cost_usd_low > cost_usd')).toBe(0);
    expect(await value('SELECT sum(single_model_sessions) FROM usage_by_model')).toBe(
      await value("SELECT count(*) FROM session_facts WHERE len(list_filter(models, m -> m <> '<synthetic>')) = 1"),
    );
    expect(await value('SELECT sum(session_count) FROM usage_by_repo')).toBe(await value('SELECT sum(session_count) FROM repo_sessions'));
    // blocks: 5 hours long, disjoint, in order
    expect(
      await value(
        'SELECT count(*) FROM (SELECT block_start, lead(block_start) OVER (ORDER BY block_start) AS next FROM usage_blocks) WHERE next < block_start + INTERVAL 5 HOUR',
      ),
    ).toBe(0);
  });
});
