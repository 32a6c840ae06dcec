import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryFile } from '../helpers/snapshot.js';
import { materializedDb, type Message, type RecallSession } from '../views/messages-db.js';
import { rowsOf, table } from '../views/rows.js';

/*
 * The usage views over message-level usage (base.messages), in Asia/Kolkata (UTC+05:30), with the
 * bundled prices. Every figure below was worked out by hand from the rows here (USD per million
 * tokens: Sonnet 4.5 3 / 15 / 5-minute write 3.75 / 1-hour write 6 / read 0.3, long context
 * 6 / 22.5 / 7.5 / 12 / 0.6 past 200k input-side tokens; Haiku 4.5 1 / 5; Opus 4.5 5 / 25; Sonnet 4 3 / 15).
 *
 * repo-recall's sessions: 1 and 2 in repo 10 (api), 3 and 4 in repo 11 (web); 4 has no transcripts
 * here (its estimate counts). Transcript-only sessions: u-8 and u-9 (repo unknown).
 */
const ZONE = 'Asia/Kolkata';
const SONNET = 'claude-sonnet-4-5';
const HAIKU = 'claude-haiku-4-5';

const SESSIONS: RecallSession[] = [
  // upstream's totals for sessions with messages are over-counts the views must not use
  { id: 1, uuid: 'u-1', started: '2026-03-10 04:00:00', ended: '2026-03-10 04:10:00', tokens: [9, 9, 9, 9], models: [HAIKU, SONNET], repos: [[10, 'api']] },
  { id: 2, uuid: 'u-2', started: '2026-03-10 18:00:00', ended: '2026-03-10 18:45:00', tokens: [9, 9, 9, 9], models: [SONNET], repos: [[10, 'api']] },
  {
    id: 3,
    uuid: 'u-3',
    started: '2026-03-11 03:00:00',
    ended: '2026-03-11 03:10:00',
    tokens: [9, 9, 9, 9],
    models: ['<synthetic>', 'claude-mystery-1', SONNET],
    repos: [[11, 'web']],
  },
  {
    id: 4,
    uuid: 'u-4',
    started: '2026-03-11 10:00:00',
    ended: '2026-03-11 10:30:00',
    tokens: [100, 100, 0, 0],
    models: ['claude-opus-4-5'],
    repos: [[11, 'web']],
  },
];

const MESSAGES: Message[] = [
  // 1: two models in one day. 0.033 + 0.006
  { uuid: 'u-1', at: '2026-03-10 04:00:00', model: SONNET, tokens: [1000, 2000, 0, 0, 0] },
  { uuid: 'u-1', at: '2026-03-10 04:10:00', model: HAIKU, tokens: [1000, 1000, 0, 0, 0] },
  // 2: across local midnight (23:30 and 00:15 IST). A 1-hour cache write at 2x input: 100 x 3 + 1000 x 6 = 0.0063;
  // input side 1001 + 199000 = 200001 > 200k: all at the long rates, 1001 x 6 + 1000 x 22.5 + 199000 x 0.6 = 0.147906
  { uuid: 'u-2', at: '2026-03-10 18:00:00', model: SONNET, tokens: [100, 0, 0, 1000, 0] },
  { uuid: 'u-2', at: '2026-03-10 18:45:00', model: SONNET, tokens: [1001, 1000, 0, 0, 199000] },
  // 3: exactly at the threshold, standard rates: 200000 x 0.3 + 100 x 15 = 0.0615; <synthetic> costs 0; an unknown model is unpriced
  { uuid: 'u-3', at: '2026-03-11 03:00:00', model: SONNET, tokens: [0, 100, 0, 0, 200000] },
  { uuid: 'u-3', at: '2026-03-11 03:05:00', model: '<synthetic>', tokens: [10, 10, 0, 0, 0] },
  { uuid: 'u-3', at: '2026-03-11 03:10:00', model: 'claude-mystery-1', tokens: [100, 100, 0, 0, 0] },
  // only in transcripts: 10 x 3 + 10 x 15 = 0.00018 (01:30 IST on 03-12)
  { uuid: 'u-9', at: '2026-03-11 20:00:00', model: 'claude-sonnet-4-20250514', tokens: [10, 10, 0, 0, 0] },
  // only in transcripts, continuous activity past 5 hours: 60 x 1 = 0.00006 each
  { uuid: 'u-8', at: '2026-03-12 00:30:00', model: HAIKU, tokens: [60, 0, 0, 0, 0] },
  { uuid: 'u-8', at: '2026-03-12 02:30:00', model: HAIKU, tokens: [60, 0, 0, 0, 0] },
  { uuid: 'u-8', at: '2026-03-12 04:30:00', model: HAIKU, tokens: [60, 0, 0, 0, 0] },
  { uuid: 'u-8', at: '2026-03-12 07:00:00', model: HAIKU, tokens: [60, 0, 0, 0, 0] },
  { uuid: 'u-8', at: '2026-03-12 07:30:00', model: HAIKU, tokens: [60, 0, 0, 0, 0] },
];

const SUMS = [
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

describe('usage views from messages, in Asia/Kolkata', () => {
  let file: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ file, cleanup } = await materializedDb(ZONE, SESSIONS, MESSAGES));
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it('session_facts: exact where messages exist, the estimate where they do not', async () => {
    const rows = await queryFile<Record<string, unknown>>(
      file,
      `SELECT session_id::INTEGER AS id, input_tokens::INTEGER AS i, output_tokens::INTEGER AS o, cache_read_tokens::INTEGER AS r,
              cache_creation_tokens::INTEGER AS c, total_tokens::INTEGER AS t, cost_usd, cost_usd_low, cost_basis,
              api_response_count::INTEGER AS n, unpriced_responses::INTEGER AS un, cache_creation_1h_tokens::INTEGER AS h
       FROM session_facts ORDER BY session_id`,
    );
    expect(rows.map((r) => Object.values(r))).toEqual([
      [1, 2000, 3000, 0, 0, 5000, 0.039, 0.039, 'messages', 2, 0, 0],
      [2, 1101, 1000, 199000, 1000, 202101, 0.154206, 0.154206, 'messages', 2, 0, 1000],
      [3, 110, 210, 200000, 0, 200320, 0.0615, 0.0615, 'messages_partially_priced', 3, 1, 0],
      [4, 100, 100, 0, 0, 200, 0.003, 0.003, 'single_model', null, null, null],
    ]);
  });

  it('usage_hourly: each response priced once, summed per local hour (half an hour off UTC), session and model', async () => {
    const M = '(no model)';
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
        [
          // 04:00 and 04:10 UTC are 09:30 and 09:40 IST: the local hour from 09:00 IST, 03:30 UTC
          ['2026-03-10 03:30:00', '2026-03-10 09:00:00', 'u-1', HAIKU, 1000, 1000, 0, 0, 0, 1, 0, 0.006, '2026-03-10 04:10:00', '2026-03-10 04:10:00'],
          ['2026-03-10 03:30:00', '2026-03-10 09:00:00', 'u-1', SONNET, 1000, 2000, 0, 0, 0, 1, 0, 0.033, '2026-03-10 04:00:00', '2026-03-10 04:00:00'],
          // session 2 on both sides of local midnight: 23:30 and 00:15 IST
          ['2026-03-10 17:30:00', '2026-03-10 23:00:00', 'u-2', SONNET, 100, 0, 0, 1000, 1000, 1, 0, 0.0063, '2026-03-10 18:00:00', '2026-03-10 18:00:00'],
          ['2026-03-10 18:30:00', '2026-03-11 00:00:00', 'u-2', SONNET, 1001, 1000, 199000, 0, 0, 1, 0, 0.147906, '2026-03-10 18:45:00', '2026-03-10 18:45:00'],
          // <synthetic> costs 0; an unknown model is unpriced: no cost, counted
          ['2026-03-11 02:30:00', '2026-03-11 08:00:00', 'u-3', M, 10, 10, 0, 0, 0, 1, 0, 0, '2026-03-11 03:05:00', '2026-03-11 03:05:00'],
          [
            '2026-03-11 02:30:00',
            '2026-03-11 08:00:00',
            'u-3',
            'claude-mystery-1',
            100,
            100,
            0,
            0,
            0,
            1,
            1,
            null,
            '2026-03-11 03:10:00',
            '2026-03-11 03:10:00',
          ],
          ['2026-03-11 02:30:00', '2026-03-11 08:00:00', 'u-3', SONNET, 0, 100, 200000, 0, 0, 1, 0, 0.0615, '2026-03-11 03:00:00', '2026-03-11 03:00:00'],
          [
            '2026-03-11 19:30:00',
            '2026-03-12 01:00:00',
            'u-9',
            'claude-sonnet-4-20250514',
            10,
            10,
            0,
            0,
            0,
            1,
            0,
            0.00018,
            '2026-03-11 20:00:00',
            '2026-03-11 20:00:00',
          ],
          // 00:30 UTC is 06:00 IST exactly: the first instant of its local hour
          ['2026-03-12 00:30:00', '2026-03-12 06:00:00', 'u-8', HAIKU, 60, 0, 0, 0, 0, 1, 0, 0.00006, '2026-03-12 00:30:00', '2026-03-12 00:30:00'],
          ['2026-03-12 02:30:00', '2026-03-12 08:00:00', 'u-8', HAIKU, 60, 0, 0, 0, 0, 1, 0, 0.00006, '2026-03-12 02:30:00', '2026-03-12 02:30:00'],
          ['2026-03-12 04:30:00', '2026-03-12 10:00:00', 'u-8', HAIKU, 60, 0, 0, 0, 0, 1, 0, 0.00006, '2026-03-12 04:30:00', '2026-03-12 04:30:00'],
          // 07:00 and 07:30 UTC: one UTC hour, two local hours (12:30 and 13:00 IST)
          ['2026-03-12 06:30:00', '2026-03-12 12:00:00', 'u-8', HAIKU, 60, 0, 0, 0, 0, 1, 0, 0.00006, '2026-03-12 07:00:00', '2026-03-12 07:00:00'],
          ['2026-03-12 07:30:00', '2026-03-12 13:00:00', 'u-8', HAIKU, 60, 0, 0, 0, 0, 1, 0, 0.00006, '2026-03-12 07:30:00', '2026-03-12 07:30:00'],
        ],
      ),
    );
  });

  it('usage_daily: each message on its own local day (session 2 on both sides of midnight)', async () => {
    expect(await rowsOf(file, 'usage_daily')).toEqual(
      table(
        ['day', ...SUMS],
        [
          ['2026-03-10', 2, 2100, 3000, 0, 1000, 6100, 0.0453, 0.0453, 0, 0, 0, 1000, 3, 0],
          ['2026-03-11', 3, 1211, 1310, 399000, 0, 401521, 0.212406, 0.212406, 0, 1, 0.997, 0, 4, 1],
          ['2026-03-12', 2, 310, 10, 0, 0, 320, 0.00048, 0.00048, 0, 0, 0, 0, 6, 0],
        ],
      ),
    );
  });

  it('usage_weekly and usage_monthly add the same units up', async () => {
    const week = (await rowsOf(file, 'usage_weekly')).rows;
    expect(week.map((r) => [r.week, r.session_count, r.total_tokens, r.cost_usd, r.api_response_count])).toEqual([['2026-03-09', 6, 407941, 0.258186, 13]]);
    const month = (await rowsOf(file, 'usage_monthly')).rows;
    expect(month.map((r) => [r.month, r.session_count, r.total_tokens, r.cost_usd, r.api_response_count])).toEqual([['2026-03-01', 6, 407941, 0.258186, 13]]);
  });

  it('usage_daily_by_model: a two-model session split exactly; <synthetic> and unknown models counted, not priced', async () => {
    const rows = (await rowsOf(file, 'usage_daily_by_model')).rows;
    const cols = [
      'day',
      'model',
      'session_count',
      'input_tokens',
      'output_tokens',
      'cache_read_tokens',
      'cache_creation_tokens',
      'total_tokens',
      'cost_usd',
      'cost_usd_low',
      'unpriced_sessions',
      'cache_hit_ratio',
      'api_response_count',
      'unpriced_responses',
    ];
    expect(rows.map((r) => cols.map((c) => r[c]))).toEqual([
      ['2026-03-10', HAIKU, 1, 1000, 1000, 0, 0, 2000, 0.006, 0.006, 0, 0, 1, 0],
      ['2026-03-10', SONNET, 2, 1100, 2000, 0, 1000, 4100, 0.0393, 0.0393, 0, 0, 2, 0],
      ['2026-03-11', '(no model)', 1, 10, 10, 0, 0, 20, 0, 0, 0, 0, 1, 0],
      ['2026-03-11', 'claude-mystery-1', 1, 100, 100, 0, 0, 200, 0, 0, 1, 0, 1, 1],
      ['2026-03-11', 'claude-opus-4-5', 1, 100, 100, 0, 0, 200, 0.003, 0.003, 0, 0, 0, 0], // session 4's estimate
      ['2026-03-11', SONNET, 2, 1001, 1100, 399000, 0, 401101, 0.209406, 0.209406, 0, 0.9975, 2, 0],
      ['2026-03-12', HAIKU, 1, 300, 0, 0, 0, 300, 0.0003, 0.0003, 0, 0, 5, 0],
      ['2026-03-12', 'claude-sonnet-4-20250514', 1, 10, 10, 0, 0, 20, 0.00018, 0.00018, 0, 0, 1, 0],
    ]);
    expect(rows.some((r) => r.model === '(several models)')).toBe(false);
  });

  it('usage_by_model: exact per-model tokens and cost', async () => {
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
          [HAIKU, true, 2, 1, 1, 1300, 1000, 0, 0, 2300, 0.0063, 0, 6],
          ['claude-mystery-1', false, 1, 0, 1, 100, 100, 0, 0, 200, null, 0, 1],
          ['claude-opus-4-5', true, 1, 1, 0, 100, 100, 0, 0, 200, 0.003, 0, 0],
          ['claude-sonnet-4-20250514', true, 1, 1, 0, 10, 10, 0, 0, 20, 0.00018, 0, 1],
          [SONNET, true, 3, 1, 2, 2101, 3100, 399000, 1000, 405201, 0.248706, 1000, 4],
        ],
      ),
    );
  });

  it('usage_by_repo: transcript-only sessions under repo_id -1, repo unknown', async () => {
    const rows = (await rowsOf(file, 'usage_by_repo')).rows;
    const cols = [
      'repo_id',
      'repo_name',
      'repo_path',
      'session_count',
      'input_tokens',
      'output_tokens',
      'cache_read_tokens',
      'cache_creation_tokens',
      'total_tokens',
      'cost_usd',
      'unpriced_sessions',
      'api_response_count',
      'first_activity_at',
      'last_activity_at',
    ];
    expect(rows.map((r) => cols.map((c) => r[c]))).toEqual([
      [-1, '(repo unknown)', null, 2, 310, 10, 0, 0, 320, 0.00048, 0, 6, '2026-03-11 20:00:00', '2026-03-12 07:30:00'],
      [10, 'api', '/code/api', 2, 3101, 4000, 199000, 1000, 207101, 0.193206, 0, 4, '2026-03-10 04:00:00', '2026-03-10 18:45:00'],
      [11, 'web', '/code/web', 2, 210, 310, 200000, 0, 200520, 0.0645, 1, 3, '2026-03-11 03:00:00', '2026-03-11 10:30:00'],
    ]);
  });

  it('usage_blocks: a gap of more than 5 hours starts a block; so does activity more than 5 hours past the start', async () => {
    const rows = (await rowsOf(file, 'usage_blocks')).rows;
    const cols = [
      'block_start',
      'block_end',
      'block_start_local',
      'first_activity_at',
      'last_activity_at',
      'is_active',
      'session_count',
      'total_tokens',
      'cost_usd',
      'api_response_count',
      'burn_rate_tokens_per_minute',
      'projected_tokens',
      'remaining_minutes',
    ];
    expect(rows.map((r) => cols.map((c) => r[c]))).toEqual([
      [
        '2026-03-10 04:00:00',
        '2026-03-10 09:00:00',
        '2026-03-10 09:30:00',
        '2026-03-10 04:00:00',
        '2026-03-10 04:10:00',
        false,
        1,
        5000,
        0.039,
        2,
        null,
        null,
        null,
      ],
      [
        '2026-03-10 18:00:00',
        '2026-03-10 23:00:00',
        '2026-03-10 23:30:00',
        '2026-03-10 18:00:00',
        '2026-03-10 18:45:00',
        false,
        1,
        202101,
        0.154206,
        2,
        null,
        null,
        null,
      ],
      [
        '2026-03-11 03:00:00',
        '2026-03-11 08:00:00',
        '2026-03-11 08:30:00',
        '2026-03-11 03:00:00',
        '2026-03-11 03:10:00',
        false,
        1,
        200320,
        0.0615,
        3,
        null,
        null,
        null,
      ],
      // session 4's estimate: at its start, up to its end
      [
        '2026-03-11 10:00:00',
        '2026-03-11 15:00:00',
        '2026-03-11 15:30:00',
        '2026-03-11 10:00:00',
        '2026-03-11 10:30:00',
        false,
        1,
        200,
        0.003,
        0,
        null,
        null,
        null,
      ],
      // 00:30 is 4.5 hours after 20:00: same block
      [
        '2026-03-11 20:00:00',
        '2026-03-12 01:00:00',
        '2026-03-12 01:30:00',
        '2026-03-11 20:00:00',
        '2026-03-12 00:30:00',
        false,
        2,
        80,
        0.00024,
        2,
        null,
        null,
        null,
      ],
      // 02:30 is 6.5 hours after 20:00: a new block from 02:00; 07:00, exactly 5 hours on, still in it
      [
        '2026-03-12 02:00:00',
        '2026-03-12 07:00:00',
        '2026-03-12 07:30:00',
        '2026-03-12 02:30:00',
        '2026-03-12 07:00:00',
        false,
        1,
        180,
        0.00018,
        3,
        null,
        null,
        null,
      ],
      // 07:30 is past 5 hours: the next block, from 07:00
      [
        '2026-03-12 07:00:00',
        '2026-03-12 12:00:00',
        '2026-03-12 12:30:00',
        '2026-03-12 07:30:00',
        '2026-03-12 07:30:00',
        false,
        1,
        60,
        0.00006,
        1,
        null,
        null,
        null,
      ],
    ]);
  });
});

describe('usage_hourly across the changes of daylight saving time, in America/Los_Angeles', () => {
  let file: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    // 100 Haiku 4.5 input tokens each: 0.0001 USD. Only in transcripts (no repo-recall session).
    const at = (utc: string): Message => ({ uuid: 'u-dst', at: utc, model: HAIKU, tokens: [100, 0, 0, 0, 0] });
    ({ file, cleanup } = await materializedDb(
      'America/Los_Angeles',
      [],
      [
        // 2026-03-08: at 10:00 UTC, 02:00 PST becomes 03:00 PDT (there is no local 02:00 hour)
        at('2026-03-08 09:30:00'), // 01:30 PST
        at('2026-03-08 10:30:00'), // 03:30 PDT
        // 2026-11-01: at 09:00 UTC, 02:00 PDT becomes 01:00 PST (the local 01:00 hour comes twice)
        at('2026-11-01 06:59:59'), // 23:59:59 PDT on 10-31
        at('2026-11-01 08:20:00'), // 01:20 PDT
        at('2026-11-01 08:50:00'), // 01:50 PDT
        at('2026-11-01 09:10:00'), // 01:10 PST
        at('2026-11-01 10:05:00'), // 02:05 PST
      ],
    ));
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it('the repeated hour is two rows, each at the instant it began; every row on its local day', async () => {
    const rows = (await rowsOf(file, 'usage_hourly')).rows;
    expect(rows.map((r) => [r.hour_start, r.hour_start_local, r.api_response_count, r.cost_usd, r.first_used_at, r.last_used_at])).toEqual([
      ['2026-03-08 09:00:00', '2026-03-08 01:00:00', 1, 0.0001, '2026-03-08 09:30:00', '2026-03-08 09:30:00'],
      ['2026-03-08 10:00:00', '2026-03-08 03:00:00', 1, 0.0001, '2026-03-08 10:30:00', '2026-03-08 10:30:00'],
      ['2026-11-01 06:00:00', '2026-10-31 23:00:00', 1, 0.0001, '2026-11-01 06:59:59', '2026-11-01 06:59:59'],
      ['2026-11-01 08:00:00', '2026-11-01 01:00:00', 2, 0.0002, '2026-11-01 08:20:00', '2026-11-01 08:50:00'],
      ['2026-11-01 09:00:00', '2026-11-01 01:00:00', 1, 0.0001, '2026-11-01 09:10:00', '2026-11-01 09:10:00'],
      ['2026-11-01 10:00:00', '2026-11-01 02:00:00', 1, 0.0001, '2026-11-01 10:05:00', '2026-11-01 10:05:00'],
    ]);
    expect(rows.every((r) => r.session_uuid === 'u-dst' && r.model === HAIKU && r.unpriced_responses === 0)).toBe(true);
    const days = (await rowsOf(file, 'usage_daily')).rows;
    expect(days.map((r) => [r.day, r.api_response_count, r.total_tokens, r.cost_usd])).toEqual([
      ['2026-03-08', 2, 200, 0.0002],
      ['2026-10-31', 1, 100, 0.0001],
      ['2026-11-01', 4, 400, 0.0004],
    ]);
  });
});

describe('usage_blocks: the active block', () => {
  let file: string;
  let cleanup: () => Promise<void>;
  let before: number;
  let after: number;

  beforeAll(async () => {
    // Two responses 30 minutes apart, the last 10 minutes ago: 600 tokens and 0.0006 USD (Haiku 4.5 input) in 30 minutes.
    const now = Math.floor(Date.now() / 1000);
    const at = (secondsAgo: number) => new Date((now - secondsAgo) * 1000).toISOString().replace('T', ' ').slice(0, 19);
    before = Date.now();
    ({ file, cleanup } = await materializedDb(
      'UTC',
      [],
      [
        { uuid: 'u-live', at: at(40 * 60), model: HAIKU, tokens: [300, 0, 0, 0, 0] },
        { uuid: 'u-live', at: at(10 * 60), model: HAIKU, tokens: [300, 0, 0, 0, 0] },
      ],
    ));
    after = Date.now();
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it("has ccusage's burn rate and projection, and expires when the block ends", async () => {
    const rows = (await rowsOf(file, 'usage_blocks')).rows;
    expect(rows.length).toBe(1);
    const b = rows[0]!;
    expect(b).toMatchObject({ is_active: true, total_tokens: 600, cost_usd: 0.0006, burn_rate_tokens_per_minute: 20, burn_rate_usd_per_hour: 0.0012 });
    const end = Date.parse(`${String(b.block_end).replace(' ', 'T')}Z`);
    // remaining_minutes: minutes from the materialization to block_end, rounded
    const remaining = Number(b.remaining_minutes);
    expect(remaining).toBeGreaterThanOrEqual(Math.round((end - after) / 60_000) - 1);
    expect(remaining).toBeLessThanOrEqual(Math.round((end - before) / 60_000) + 1);
    expect(b.projected_tokens).toBe(600 + 20 * remaining);
    expect(b.projected_cost_usd).toBeCloseTo(0.0006 + (0.0012 / 60) * remaining, 6);
    const [view] = await queryFile<{ valid_until: string }>(
      file,
      "SELECT strftime(valid_until AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') AS valid_until FROM lattice.views WHERE name = 'usage_blocks'",
    );
    expect(view?.valid_until).toBe(b.block_end);
  });
});
