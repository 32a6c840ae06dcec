import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG } from '../src/shared/catalog/index.js';
import { isDue } from '../src/puller/materialize.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { runCli, tempHome, type TempHome } from './helpers/processes.js';
import { queryFile } from './helpers/snapshot.js';
import { rowsOf, table, view } from './views/rows.js';
import { session } from './views/payload.js';
import { USAGE_PRICING_FILE, USAGE_TIMEZONE, usagePayloadText } from './views/usage-payload.js';

/*
 * Exact rows of the usage and cost views over test/views/usage-payload.ts, read in
 * America/Los_Angeles across the end of daylight saving time, with a pricing file. Every figure
 * below was worked out by hand from the payload's table and the price rule (see the payload).
 */

const USAGE_SUMS = [
  'session_count',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_creation_tokens',
  'total_tokens',
  'cost_usd',
  'cost_usd_low',
  'estimated_sessions',
  'unpriced_sessions',
  'cache_hit_ratio',
  'cache_creation_1h_tokens',
  'api_response_count',
  'unpriced_responses',
];
/** The columns USAGE_SUMS gained with message-level usage: these sessions have no transcripts here, so all 0. */
const NO_MESSAGES = [0, 0, 0];
/** usage_blocks' burn rate and projection columns: NULL for a block that is not active. */
const NOT_ACTIVE = [null, null, null, null, null];

async function pull(home: TempHome, recall: FakeRecall, extra: string[]): Promise<string> {
  const r = await runCli(['pull', '--home', home.dir, '--repo-recall-url', recall.url, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(`${CATALOG.length} views refreshed`);
  expect(r.stdout).not.toMatch(/views failed/);
  return join(home.dir, 'session-lattice.duckdb');
}

describe('usage and cost views in America/Los_Angeles, across the end of DST, with a pricing file', () => {
  let recall: FakeRecall;
  let home: TempHome;
  let file: string;

  beforeAll(async () => {
    recall = await startFakeRecall({ sessions: 0 });
    await recall.setPayloadText(usagePayloadText());
    home = await tempHome('lattice-usage-');
    const pricing = join(home.dir, 'prices.json');
    await writeFile(pricing, JSON.stringify(USAGE_PRICING_FILE));
    file = await pull(home, recall, ['--timezone', USAGE_TIMEZONE, '--pricing-file', pricing]);
  });

  afterAll(async () => {
    await recall?.close();
    await home?.cleanup();
  });

  it('records the zone it was materialized in', async () => {
    expect(await queryFile(file, 'SELECT timezone FROM lattice.meta')).toEqual([{ timezone: USAGE_TIMEZONE }]);
  });

  it('base.model_prices: the bundled table with the pricing file over it', async () => {
    const rows = await queryFile<Record<string, unknown>>(
      file,
      `SELECT model, canonical_model, input_usd_per_mtok, cache_write_usd_per_mtok, source, from_pricing_file
       FROM base.model_prices WHERE model IN ('claude-haiku-4-5', 'claude-haiku-4-5-20251001', 'acme-internal-1', 'acme-internal-latest') ORDER BY model`,
    );
    expect(rows).toEqual([
      {
        model: 'acme-internal-1',
        canonical_model: 'acme-internal-1',
        input_usd_per_mtok: 2,
        cache_write_usd_per_mtok: 2.5,
        source: 'our contract',
        from_pricing_file: true,
      },
      {
        model: 'acme-internal-latest',
        canonical_model: 'acme-internal-1',
        input_usd_per_mtok: 2,
        cache_write_usd_per_mtok: 2.5,
        source: 'our contract',
        from_pricing_file: true,
      },
      // the override names the alias: the alias is re-priced, the dated id keeps the bundled price
      {
        model: 'claude-haiku-4-5',
        canonical_model: 'claude-haiku-4-5',
        input_usd_per_mtok: 0.5,
        cache_write_usd_per_mtok: 0.625,
        source: `pricing file ${join(home.dir, 'prices.json')}`,
        from_pricing_file: true,
      },
      {
        model: 'claude-haiku-4-5-20251001',
        canonical_model: 'claude-haiku-4-5-20251001',
        input_usd_per_mtok: 1,
        cache_write_usd_per_mtok: 1.25,
        source: 'https://docs.claude.com/en/docs/about-claude/pricing',
        from_pricing_file: false,
      },
    ]);
  });

  it('session_facts: local start day and cost per session', async () => {
    const rows = await queryFile<Record<string, unknown>>(
      file,
      'SELECT session_id::INTEGER AS id, started_day::VARCHAR AS day, cost_usd, cost_usd_low, cost_basis FROM session_facts ORDER BY session_id',
    );
    const n = null;
    expect(rows.map((r) => Object.values(r))).toEqual([
      [101, '2026-11-01', 0.1005, 0.1005, 'single_model'],
      [102, '2026-11-01', 0.015, 0.0015, 'multi_model_upper_bound'],
      [103, '2026-10-31', 0.00043, 0.00043, 'single_model'], // <synthetic> is not a model
      [104, '2026-09-30', n, n, 'unpriced'], // an unknown model is never guessed
      [105, '2026-11-02', n, n, 'unpriced'],
      [106, '2026-11-02', 0.018, 0.018, 'partially_priced'],
      [107, '2026-11-02', 0.0127, 0.0127, 'single_model'],
      [108, n, 0.000022, 0.000022, 'single_model'],
      [109, '2026-10-31', 0.0035, 0.0035, 'single_model'],
      [110, '2026-11-02', 0.0015, 0.0015, 'single_model'],
    ]);
  });

  it('usage_daily: local days; both 01:30s of the repeated hour on 11-01, 23:59 on the month ends on their own day', async () => {
    expect(await rowsOf(file, 'usage_daily')).toEqual(
      table(
        ['day', ...USAGE_SUMS],
        [
          ['2026-09-30', 1, 10, 10, 10, 10, 40, 0, 0, 0, 1, 0.3333, ...NO_MESSAGES],
          ['2026-10-31', 2, 300, 200, 100, 200, 800, 0.00393, 0.00393, 0, 0, 0.1667, ...NO_MESSAGES],
          ['2026-11-01', 2, 1500, 2500, 100000, 10000, 114000, 0.1155, 0.102, 1, 0, 0.8969, ...NO_MESSAGES],
          ['2026-11-02', 4, 2000, 2100, 1000, 1000, 6100, 0.0322, 0.0322, 1, 1, 0.25, ...NO_MESSAGES],
        ],
      ),
    );
  });

  it('usage_weekly: ISO weeks from Monday, local', async () => {
    expect(await rowsOf(file, 'usage_weekly')).toEqual(
      table(
        ['week', ...USAGE_SUMS],
        [
          ['2026-09-28', 1, 10, 10, 10, 10, 40, 0, 0, 0, 1, 0.3333, ...NO_MESSAGES],
          ['2026-10-26', 4, 1800, 2700, 100100, 10200, 114800, 0.11943, 0.10593, 1, 0, 0.893, ...NO_MESSAGES],
          ['2026-11-02', 4, 2000, 2100, 1000, 1000, 6100, 0.0322, 0.0322, 1, 1, 0.25, ...NO_MESSAGES],
        ],
      ),
    );
  });

  it('usage_monthly: local months', async () => {
    expect(await rowsOf(file, 'usage_monthly')).toEqual(
      table(
        ['month', ...USAGE_SUMS],
        [
          ['2026-09-01', 1, 10, 10, 10, 10, 40, 0, 0, 0, 1, 0.3333, ...NO_MESSAGES],
          ['2026-10-01', 2, 300, 200, 100, 200, 800, 0.00393, 0.00393, 0, 0, 0.1667, ...NO_MESSAGES],
          ['2026-11-01', 6, 3500, 4600, 101000, 11000, 120100, 0.1477, 0.1342, 2, 1, 0.8745, ...NO_MESSAGES],
        ],
      ),
    );
  });

  it('usage_daily_by_model: each session once, under its one model or a bucket; the parts add up to usage_daily', async () => {
    const parts = (await rowsOf(file, 'usage_daily_by_model')).rows;
    expect(parts.map((r) => [r.day, r.model, r.session_count])).toEqual([
      ['2026-09-30', 'claude-mystery-9', 1],
      ['2026-10-31', 'claude-haiku-4-5', 1], // 103: <synthetic> is not a model
      ['2026-10-31', 'claude-opus-4-5', 1],
      ['2026-11-01', '(several models)', 1], // 102
      ['2026-11-01', 'claude-sonnet-4-5', 1],
      ['2026-11-02', '(no model)', 1], // 105: only <synthetic>
      ['2026-11-02', '(several models)', 1], // 106
      ['2026-11-02', 'acme-internal-1', 1],
      ['2026-11-02', 'claude-sonnet-4-5', 1],
    ]);
    const additive = [
      'session_count',
      'input_tokens',
      'output_tokens',
      'cache_read_tokens',
      'cache_creation_tokens',
      'total_tokens',
      'cost_usd',
      'cost_usd_low',
      'estimated_sessions',
      'unpriced_sessions',
    ];
    const summed = new Map<unknown, Record<string, number>>();
    for (const r of parts) {
      const day = summed.get(r.day) ?? Object.fromEntries(additive.map((c) => [c, 0]));
      for (const c of additive) day[c]! += Number(r[c]);
      summed.set(r.day, day);
    }
    const daily = (await rowsOf(file, 'usage_daily')).rows;
    expect(daily.length).toBe(4);
    for (const d of daily) {
      for (const c of additive) expect(summed.get(d.day)?.[c], `${String(d.day)} ${c}`).toBeCloseTo(Number(d[c]), 9);
    }
  });

  it('usage_by_model: tokens and cost of the sessions that used only that model', async () => {
    expect(await rowsOf(file, 'usage_by_model')).toEqual(
      table(
        [
          'model',
          'priced',
          'session_count',
          'single_model_sessions',
          'multi_model_sessions',
          'input_tokens',
          'output_tokens',
          'cache_read_tokens',
          'cache_creation_tokens',
          'total_tokens',
          'cost_usd',
          'cache_creation_1h_tokens',
          'api_response_count',
        ],
        [
          ['acme-internal-1', true, 1, 1, 0, 1000, 1000, 1000, 1000, 4000, 0.0127, 0, 0],
          ['claude-haiku-4-5', true, 2, 1, 1, 100, 100, 100, 200, 500, 0.00043, 0, 0],
          ['claude-mystery-9', false, 2, 1, 1, 10, 10, 10, 10, 40, null, 0, 0],
          ['claude-opus-4-5', true, 2, 1, 1, 200, 100, 0, 0, 300, 0.0035, 0, 0],
          ['claude-sonnet-4-5', true, 4, 3, 1, 1001, 2101, 100001, 10001, 113104, 0.102022, 0, 0],
        ],
      ),
    );
  });

  it('usage_by_repo: a session in two repos counts in each; undated sessions count too', async () => {
    expect(await rowsOf(file, 'usage_by_repo')).toEqual(
      table(
        ['repo_id', 'repo_name', 'repo_path', ...USAGE_SUMS, 'first_activity_at', 'last_activity_at'],
        [
          [
            1,
            'api',
            '/code/api',
            4,
            3500,
            4500,
            101000,
            11000,
            120000,
            0.1462,
            0.1327,
            2,
            0,
            0.8745,
            ...NO_MESSAGES,
            '2026-11-01 08:30:00',
            '2026-11-03 03:00:00',
          ],
          [2, 'web', '/code/web', 3, 601, 601, 101, 201, 1504, 0.015452, 0.001952, 1, 0, 0.1118, ...NO_MESSAGES, '2026-11-01 06:59:00', '2026-11-01 10:15:00'],
        ],
      ),
    );
  });

  it('usage_hourly: no rows, as these sessions have no transcripts here (their estimates count in the views above)', async () => {
    // the rows of responses, in a half-hour zone and across daylight saving time: test/views-messages.test.ts
    expect(await rowsOf(file, 'usage_hourly')).toEqual(
      table(
        [
          'hour_start',
          'hour_start_local',
          'session_uuid',
          'model',
          'input_tokens',
          'output_tokens',
          'cache_read_tokens',
          'cache_creation_tokens',
          'cache_creation_1h_tokens',
          'api_response_count',
          'unpriced_responses',
          'cost_usd',
          'first_used_at',
          'last_used_at',
        ],
        [],
      ),
    );
  });

  it('usage_blocks: 5-hour blocks from the first start outside the last block, floored to the hour', async () => {
    // 17:00 → 20:00 → 23:30 → 03:00 are each under 5 hours apart, but 23:30 lies past the first
    // block's end: a second block starts at 23:00 and takes 03:00 in.
    expect(await rowsOf(file, 'usage_blocks')).toEqual(
      table(
        [
          'block_start',
          'block_end',
          'block_start_local',
          'last_activity_at',
          'is_active',
          ...USAGE_SUMS,
          'first_activity_at',
          'burn_rate_tokens_per_minute',
          'burn_rate_usd_per_hour',
          'projected_tokens',
          'projected_cost_usd',
          'remaining_minutes',
        ],
        [
          [
            '2026-10-01 06:00:00',
            '2026-10-01 11:00:00',
            '2026-09-30 23:00:00',
            '2026-10-01 06:59:00',
            false,
            1,
            10,
            10,
            10,
            10,
            40,
            0,
            0,
            0,
            1,
            0.3333,
            ...NO_MESSAGES,
            '2026-10-01 06:59:00',
            ...NOT_ACTIVE,
          ],
          [
            '2026-10-31 22:00:00',
            '2026-11-01 03:00:00',
            '2026-10-31 15:00:00',
            '2026-10-31 22:00:00',
            false,
            1,
            200,
            100,
            0,
            0,
            300,
            0.0035,
            0.0035,
            0,
            0,
            0,
            ...NO_MESSAGES,
            '2026-10-31 22:00:00',
            ...NOT_ACTIVE,
          ],
          [
            '2026-11-01 06:00:00',
            '2026-11-01 11:00:00',
            '2026-10-31 23:00:00',
            '2026-11-01 10:15:00',
            false,
            3,
            1600,
            2600,
            100100,
            10200,
            114500,
            0.11593,
            0.10243,
            1,
            0,
            0.8945,
            ...NO_MESSAGES,
            '2026-11-01 06:59:00',
            ...NOT_ACTIVE,
          ],
          [
            '2026-11-02 17:00:00',
            '2026-11-02 22:00:00',
            '2026-11-02 09:00:00',
            '2026-11-02 20:30:00',
            false,
            2,
            1000,
            1000,
            0,
            0,
            2000,
            0.018,
            0.018,
            1,
            1,
            0,
            ...NO_MESSAGES,
            '2026-11-02 17:00:00',
            ...NOT_ACTIVE,
          ],
          [
            '2026-11-02 23:00:00',
            '2026-11-03 04:00:00',
            '2026-11-02 15:00:00',
            '2026-11-03 03:00:00',
            false,
            2,
            1000,
            1100,
            1000,
            1000,
            4100,
            0.0142,
            0.0142,
            0,
            0,
            0.3333,
            ...NO_MESSAGES,
            '2026-11-02 23:30:00',
            ...NOT_ACTIVE,
          ],
        ],
      ),
    );
    // no block is active, so nothing expires
    expect(await queryFile(file, "SELECT valid_until FROM lattice.views WHERE name = 'usage_blocks'")).toEqual([{ valid_until: null }]);
  });

  it('stop_reason_totals: a reason counted 0 times in a session does not count that session', async () => {
    expect(await rowsOf(file, 'stop_reason_totals')).toEqual(
      table(
        ['stop_reason', 'session_count', 'occurrences', 'share_of_occurrences'],
        [
          ['end_turn', 3, 4, 0.5714],
          ['tool_use', 1, 3, 0.4286],
        ],
      ),
    );
  });

  it('activity_heatmap and daily_activity: local hours and weekdays', async () => {
    const cells = await queryFile<Record<string, unknown>>(
      file,
      'SELECT iso_weekday::INTEGER AS wd, hour::INTEGER AS hour, session_count::INTEGER AS n FROM activity_heatmap WHERE session_count > 0 ORDER BY wd, hour',
    );
    expect(cells.map((c) => `${c.wd}/${c.hour}:${c.n}`)).toEqual([
      '1/9:1',
      '1/12:1',
      '1/15:1',
      '1/19:1', // Monday 11-02
      '3/23:1', // Wednesday 09-30
      '6/15:1',
      '6/23:1', // Saturday 10-31
      '7/1:2', // Sunday 11-01: 01:30 PDT and 01:30 PST
    ]);
    const days = await queryFile<Record<string, unknown>>(file, 'SELECT day::VARCHAR AS day, session_count::INTEGER AS n FROM daily_activity ORDER BY day');
    expect(days).toEqual([
      { day: '2026-09-30', n: 1 },
      { day: '2026-10-31', n: 2 },
      { day: '2026-11-01', n: 2 },
      { day: '2026-11-02', n: 4 },
    ]);
  });
});

describe('usage_blocks: a block still running', () => {
  let recall: FakeRecall;
  let home: TempHome;

  afterAll(async () => {
    await recall?.close();
    await home?.cleanup();
  });

  it('is active, and the view expires when the block ends', async () => {
    const now = Math.floor(Date.now() / 1000);
    const started = now - 30 * 60;
    const element = {
      session: session({ id: 1, started_at: started, messages: [2, 1, 1], tokens: [10, 10, 10, 10], models: ['claude-sonnet-4-5'] }),
      repos: [],
    };
    recall = await startFakeRecall({ sessions: 0 });
    await recall.setPayloadText(JSON.stringify({ sessions: [element], generated_at: now, scan_version: 1 }));
    home = await tempHome('lattice-blocks-');
    const file = await pull(home, recall, []);
    const blockEnd = (Math.floor(started / 3600) + 5) * 3600;
    const [row] = await queryFile<Record<string, unknown>>(
      file,
      `SELECT is_active, epoch(timezone('UTC', block_end))::BIGINT::DOUBLE AS block_end,
              (SELECT epoch(valid_until)::BIGINT::DOUBLE FROM lattice.views WHERE name = 'usage_blocks') AS valid_until
       FROM usage_blocks`,
    );
    expect(row).toEqual({ is_active: true, block_end: blockEnd, valid_until: blockEnd });

    // The view is due again once the clock passes valid_until, even with no new data.
    const stored = {
      name: 'usage_blocks',
      description: '',
      refresh_interval_seconds: 0,
      key_columns: [],
      sql_hash: 'h',
      materialized_epoch: now,
      error_epoch: null,
      watermark: 1,
      attempted_version: 1,
      valid_until_epoch: blockEnd,
      last_error: null,
    };
    const ctx = { identity: 'h', baseVersion: 1, ignoreIntervals: false };
    expect(isDue(view('usage_blocks'), stored, { ...ctx, nowEpoch: blockEnd - 1 })).toBe(false);
    expect(isDue(view('usage_blocks'), stored, { ...ctx, nowEpoch: blockEnd })).toBe(true);
  });
});
