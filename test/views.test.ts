import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG } from '../src/shared/catalog/index.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { runCli, tempHome, type TempHome } from './helpers/processes.js';
import { queryFile } from './helpers/snapshot.js';
import { rowsOf, table } from './views/rows.js';
import { CJK_REPO, CJK_TOOL, CRAB_REPO, HAND_MADE_REJECTED, HAND_MADE_VALID_SESSIONS, SPARKLE_CWD, handMadePayloadText, uuidOf } from './views/payload.js';

// The catalog's own checks (names, descriptions, types, declared reads) are in test/unit/catalog.test.ts.

describe('views over a hand-made payload, through the real pipeline', () => {
  let recall: FakeRecall;
  let home: TempHome;
  let file: string;

  beforeAll(async () => {
    recall = await startFakeRecall({ sessions: 0 });
    await recall.setPayloadText(handMadePayloadText());
    home = await tempHome('lattice-views-');
    const r = await runCli(['pull', '--home', home.dir, '--repo-recall-url', recall.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${CATALOG.length} views refreshed`);
    expect(r.stdout).not.toMatch(/views failed/);
    file = join(home.dir, 'session-lattice.duckdb');
  });

  afterAll(async () => {
    await recall?.close();
    await home?.cleanup();
  });

  it('loads what the payload holds and materializes every view without error', async () => {
    const [meta] = await queryFile<{ session_count: number; rejected_rows: number }>(
      file,
      'SELECT session_count::DOUBLE AS session_count, rejected_rows::DOUBLE AS rejected_rows FROM lattice.meta',
    );
    expect(meta).toEqual({ session_count: HAND_MADE_VALID_SESSIONS, rejected_rows: HAND_MADE_REJECTED });
    const views = await queryFile<{ name: string; last_error: string | null; materialized: boolean }>(
      file,
      'SELECT name, last_error, materialized_at IS NOT NULL AS materialized FROM lattice.views ORDER BY name',
    );
    expect(views).toEqual(
      [...CATALOG]
        .map((v) => v.name)
        .sort()
        .map((name) => ({ name, last_error: null, materialized: true })),
    );
  });

  // No transcripts here: no responses, so the message-level columns are NULL (unknown).
  const NO_TRANSCRIPTS = [null, null, null];
  it('session_facts: one row per session, dated or not, unknown as NULL', async () => {
    expect(await rowsOf(file, 'session_facts')).toEqual(
      table(
        [
          'session_id',
          'session_uuid',
          'cwd',
          'started_at',
          'ended_at',
          'started_day',
          'started_at_local',
          'duration_seconds',
          'message_count',
          'user_message_count',
          'assistant_message_count',
          'input_tokens',
          'output_tokens',
          'cache_read_tokens',
          'cache_creation_tokens',
          'total_tokens',
          'repo_count',
          'repo_ids',
          'repo_names',
          'models',
          'model_count',
          'tool_count',
          'tool_calls',
          'tool_errors',
          'sidechain_message_count',
          'uses_sidechain',
          'tool_counts_ok',
          'stop_reasons_ok',
          'cost_usd',
          'cost_usd_low',
          'cost_basis',
          'api_response_count',
          'unpriced_responses',
          'cache_creation_1h_tokens',
        ],
        [
          [
            1,
            uuidOf(1),
            '/code/alpha',
            '2025-03-03 09:15:00',
            '2025-03-03 09:45:00',
            '2025-03-03',
            '2025-03-03 09:15:00',
            1800,
            10,
            4,
            6,
            100,
            200,
            1000,
            50,
            1350,
            1,
            [1],
            ['alpha-old'],
            ['claude-sonnet-4-5'],
            1,
            2,
            8,
            1,
            0,
            false,
            true,
            true,
            0.003788,
            0.003788,
            'single_model',
            ...NO_TRANSCRIPTS,
          ],
          // no duration_ms: ended_at - started_at, across midnight
          [
            2,
            uuidOf(2),
            `/code/${CRAB_REPO}/src`,
            '2025-03-03 23:30:00',
            '2025-03-04 00:30:00',
            '2025-03-03',
            '2025-03-03 23:30:00',
            3600,
            20,
            8,
            12,
            10,
            20,
            300,
            40,
            370,
            2,
            [1, 2],
            ['alpha-old', CRAB_REPO],
            ['claude-haiku-4-5', 'claude-sonnet-4-5'],
            2,
            3,
            4,
            1,
            5,
            true,
            true,
            true,
            0.00057,
            0.00019,
            'multi_model_upper_bound',
            ...NO_TRANSCRIPTS,
          ],
          // empty count strings: readable, none
          [
            3,
            uuidOf(3),
            '/tmp',
            '2025-03-04 14:00:00',
            null,
            '2025-03-04',
            '2025-03-04 14:00:00',
            60,
            2,
            1,
            1,
            5,
            6,
            7,
            8,
            26,
            0,
            [],
            [],
            [],
            0,
            0,
            0,
            0,
            0,
            false,
            true,
            true,
            null,
            null,
            'unpriced',
            ...NO_TRANSCRIPTS,
          ],
          [
            4,
            uuidOf(4),
            '/code/日本語',
            null,
            null,
            null,
            null,
            null,
            4,
            2,
            2,
            1,
            2,
            3,
            4,
            10,
            1,
            [3],
            [CJK_REPO],
            ['claude-opus-4-5'],
            1,
            3,
            4,
            1,
            0,
            false,
            true,
            true,
            0.000082,
            0.000082,
            'single_model',
            ...NO_TRANSCRIPTS,
          ],
          // unreadable tool counts: NULL, not 0
          [
            5,
            uuidOf(5),
            '/code/alpha',
            '2025-03-09 18:05:00',
            '2025-03-09 18:10:00',
            '2025-03-09',
            '2025-03-09 18:05:00',
            300,
            6,
            3,
            3,
            1000,
            2000,
            3000,
            4000,
            10000,
            2,
            [1, 3],
            ['alpha', CJK_REPO],
            ['claude-opus-4-5'],
            1,
            null,
            null,
            null,
            0,
            false,
            false,
            true,
            0.0815,
            0.0815,
            'single_model',
            ...NO_TRANSCRIPTS,
          ],
          // a repeated tool key is added up
          [
            6,
            uuidOf(6),
            null,
            '2025-03-04 14:30:00',
            '2025-03-04 14:31:00',
            '2025-03-04',
            '2025-03-04 14:30:00',
            60,
            3,
            1,
            2,
            0,
            0,
            0,
            0,
            0,
            0,
            [],
            [],
            ['<synthetic>'],
            1,
            1,
            3,
            1,
            0,
            false,
            true,
            false,
            null,
            null,
            'unpriced',
            ...NO_TRANSCRIPTS,
          ],
          [
            7,
            uuidOf(7),
            '/tmp',
            '2025-04-01 08:00:00',
            '2025-04-01 08:20:00',
            '2025-04-01',
            '2025-04-01 08:00:00',
            1200,
            8,
            3,
            5,
            50,
            60,
            70,
            80,
            260,
            0,
            [],
            [],
            ['claude-haiku-4-5'],
            1,
            2,
            6,
            0,
            2,
            true,
            true,
            true,
            0.000457,
            0.000457,
            'single_model',
            ...NO_TRANSCRIPTS,
          ],
          // only an end time: no start, no duration
          [
            8,
            uuidOf(8),
            SPARKLE_CWD,
            null,
            '2025-04-02 10:00:00',
            null,
            null,
            null,
            1,
            1,
            0,
            9,
            9,
            9,
            9,
            36,
            0,
            [],
            [],
            [],
            0,
            null,
            null,
            null,
            0,
            false,
            false,
            false,
            null,
            null,
            'unpriced',
            ...NO_TRANSCRIPTS,
          ],
          [
            9,
            uuidOf(9),
            `/code/${CRAB_REPO}`,
            '2025-04-01 23:59:59',
            '2025-04-02 00:10:00',
            '2025-04-01',
            '2025-04-01 23:59:59',
            601,
            12,
            5,
            7,
            100,
            100,
            100,
            100,
            400,
            1,
            [2],
            [CRAB_REPO],
            ['claude-sonnet-4-5'],
            1,
            2,
            3,
            0,
            0,
            false,
            true,
            true,
            0.002205,
            0.002205,
            'single_model',
            ...NO_TRANSCRIPTS,
          ],
          [
            11,
            uuidOf(11),
            '',
            '2025-03-09 18:50:00',
            null,
            '2025-03-09',
            '2025-03-09 18:50:00',
            null,
            2,
            1,
            1,
            1,
            1,
            1,
            1,
            4,
            0,
            [],
            [],
            ['claude-opus-4-5'],
            1,
            1,
            1,
            1,
            0,
            false,
            true,
            true,
            0.000037,
            0.000037,
            'single_model',
            ...NO_TRANSCRIPTS,
          ],
          // the repo's name was sent as null with this session
          [
            14,
            uuidOf(14),
            '/code/日本語/docs',
            '2025-03-09 18:20:00',
            '2025-03-09 18:40:00',
            '2025-03-09',
            '2025-03-09 18:20:00',
            1200,
            5,
            2,
            3,
            7,
            7,
            7,
            7,
            28,
            1,
            [3],
            [null],
            ['claude-opus-4-5', 'claude-sonnet-4-5'],
            2,
            3,
            4,
            0,
            1,
            true,
            true,
            true,
            0.000257,
            0.000154,
            'multi_model_upper_bound',
            ...NO_TRANSCRIPTS,
          ],
        ],
      ),
    );
  });

  it('tool_sessions: case-different and unicode tool names stay distinct', async () => {
    expect(await rowsOf(file, 'tool_sessions')).toEqual(
      table(
        ['tool_name', 'session_count', 'session_ids'],
        [
          ['Bash', 3, [1, 6, 9]],
          ['Edit', 2, [11, 14]],
          ['Grep', 1, [7]],
          ['NotebookEdit', 1, [4]],
          ['Read', 6, [1, 2, 4, 7, 9, 14]],
          ['Task', 1, [2]],
          ['bash', 1, [2]],
          [CJK_TOOL, 2, [4, 14]],
        ],
      ),
    );
  });

  it('tool_usage', async () => {
    expect(await rowsOf(file, 'tool_usage')).toEqual(
      table(
        ['tool_name', 'session_count', 'calls', 'errors', 'error_rate', 'calls_per_session'],
        [
          ['Bash', 3, 6, 2, 0.3333, 2],
          ['Edit', 2, 3, 1, 0.3333, 1.5],
          ['Grep', 1, 2, 0, 0, 2],
          ['NotebookEdit', 1, 1, 0, 0, 1],
          ['Read', 6, 16, 1, 0.0625, 2.67],
          ['Task', 1, 1, 0, 0, 1],
          ['bash', 1, 2, 0, 0, 2],
          [CJK_TOOL, 2, 2, 1, 0.5, 1],
        ],
      ),
    );
  });

  it('tool_pairs', async () => {
    expect(await rowsOf(file, 'tool_pairs')).toEqual(
      table(
        ['tool_a', 'tool_b', 'sessions_with_both', 'sessions_with_a', 'sessions_with_b', 'jaccard', 'lift'],
        [
          ['Bash', 'Read', 2, 3, 6, 0.2857, 0.889],
          ['Edit', 'Read', 1, 2, 6, 0.1429, 0.667],
          ['Edit', CJK_TOOL, 1, 2, 2, 0.3333, 2],
          ['Grep', 'Read', 1, 1, 6, 0.1667, 1.333],
          ['NotebookEdit', 'Read', 1, 1, 6, 0.1667, 1.333],
          ['NotebookEdit', CJK_TOOL, 1, 1, 2, 0.5, 4],
          ['Read', 'Task', 1, 6, 1, 0.1667, 1.333],
          ['Read', 'bash', 1, 6, 1, 0.1667, 1.333],
          ['Read', CJK_TOOL, 2, 6, 2, 0.3333, 1.333],
          ['Task', 'bash', 1, 1, 1, 1, 8],
        ],
      ),
    );
  });

  it('tool_adoption: a tool used only in undated sessions has no dates', async () => {
    expect(await rowsOf(file, 'tool_adoption')).toEqual(
      table(
        ['tool_name', 'first_used_at', 'last_used_at', 'first_session_id', 'last_session_id', 'active_days', 'session_count', 'undated_session_count'],
        [
          ['Bash', '2025-03-03 09:15:00', '2025-04-01 23:59:59', 1, 9, 3, 3, 0],
          ['Edit', '2025-03-09 18:20:00', '2025-03-09 18:50:00', 14, 11, 1, 2, 0],
          ['Grep', '2025-04-01 08:00:00', '2025-04-01 08:00:00', 7, 7, 1, 1, 0],
          ['NotebookEdit', null, null, null, null, 0, 1, 1],
          ['Read', '2025-03-03 09:15:00', '2025-04-01 23:59:59', 1, 9, 3, 6, 1],
          ['Task', '2025-03-03 23:30:00', '2025-03-03 23:30:00', 2, 2, 1, 1, 0],
          ['bash', '2025-03-03 23:30:00', '2025-03-03 23:30:00', 2, 2, 1, 1, 0],
          [CJK_TOOL, '2025-03-09 18:20:00', '2025-03-09 18:20:00', 14, 14, 1, 2, 1],
        ],
      ),
    );
  });

  it('tool_monthly', async () => {
    expect(await rowsOf(file, 'tool_monthly')).toEqual(
      table(
        ['tool_name', 'month', 'session_count', 'calls', 'errors', 'month_session_count', 'session_share'],
        [
          ['Bash', '2025-03-01', 2, 6, 2, 7, 0.2857],
          ['Bash', '2025-04-01', 1, 0, 0, 2, 0.5],
          ['Edit', '2025-03-01', 2, 3, 1, 7, 0.2857],
          ['Grep', '2025-04-01', 1, 2, 0, 2, 0.5],
          ['Read', '2025-03-01', 3, 7, 1, 7, 0.4286],
          ['Read', '2025-04-01', 2, 7, 0, 2, 1],
          ['Task', '2025-03-01', 1, 1, 0, 7, 0.1429],
          ['bash', '2025-03-01', 1, 2, 0, 7, 0.1429],
          [CJK_TOOL, '2025-03-01', 1, 1, 0, 7, 0.1429],
        ],
      ),
    );
  });

  it('repo_sessions: a multi-repo session is listed under each repo; names from the latest session', async () => {
    expect(await rowsOf(file, 'repo_sessions')).toEqual(
      table(
        ['repo_id', 'repo_name', 'repo_path', 'session_count', 'first_started_at', 'last_started_at', 'session_ids'],
        [
          [1, 'alpha', '/code/alpha', 3, '2025-03-03 09:15:00', '2025-03-09 18:05:00', [1, 2, 5]],
          [2, CRAB_REPO, `/code/${CRAB_REPO}`, 2, '2025-03-03 23:30:00', '2025-04-01 23:59:59', [2, 9]],
          [3, CJK_REPO, '/code/日本語', 3, '2025-03-09 18:05:00', '2025-03-09 18:20:00', [4, 5, 14]],
        ],
      ),
    );
  });

  it('repo_tokens: multi-repo sessions count in full for each repo', async () => {
    expect(await rowsOf(file, 'repo_tokens')).toEqual(
      table(
        [
          'repo_id',
          'repo_name',
          'session_count',
          'shared_session_count',
          'message_count',
          'input_tokens',
          'output_tokens',
          'cache_read_tokens',
          'cache_creation_tokens',
          'total_tokens',
        ],
        [
          [1, 'alpha', 3, 2, 36, 1110, 2220, 4300, 4090, 11720],
          [2, CRAB_REPO, 2, 1, 32, 110, 120, 400, 140, 770],
          [3, CJK_REPO, 3, 1, 15, 1008, 2009, 3010, 4011, 10038],
        ],
      ),
    );
  });

  it('repo_tools', async () => {
    expect(await rowsOf(file, 'repo_tools')).toEqual(
      table(
        ['repo_id', 'repo_name', 'tool_name', 'session_count', 'calls', 'errors', 'error_rate'],
        [
          [1, 'alpha', 'Bash', 1, 3, 1, 0.3333],
          [1, 'alpha', 'Read', 2, 6, 1, 0.1667],
          [1, 'alpha', 'Task', 1, 1, 0, 0],
          [1, 'alpha', 'bash', 1, 2, 0, 0],
          [2, CRAB_REPO, 'Bash', 1, 0, 0, null],
          [2, CRAB_REPO, 'Read', 2, 4, 1, 0.25],
          [2, CRAB_REPO, 'Task', 1, 1, 0, 0],
          [2, CRAB_REPO, 'bash', 1, 2, 0, 0],
          [3, CJK_REPO, 'Edit', 1, 2, 0, 0],
          [3, CJK_REPO, 'NotebookEdit', 1, 1, 0, 0],
          [3, CJK_REPO, 'Read', 2, 3, 0, 0],
          [3, CJK_REPO, CJK_TOOL, 2, 2, 1, 0.5],
        ],
      ),
    );
  });

  it('sessions_without_repo: grouped by cwd, a missing cwd as empty text', async () => {
    expect(await rowsOf(file, 'sessions_without_repo')).toEqual(
      table(
        ['cwd', 'session_count', 'first_started_at', 'last_started_at', 'message_count', 'total_tokens', 'session_ids'],
        [
          ['', 2, '2025-03-04 14:30:00', '2025-03-09 18:50:00', 5, 4, [6, 11]],
          [SPARKLE_CWD, 1, null, null, 1, 36, [8]],
          ['/tmp', 2, '2025-03-04 14:00:00', '2025-04-01 08:00:00', 10, 286, [3, 7]],
        ],
      ),
    );
  });

  it('model_sessions', async () => {
    expect(await rowsOf(file, 'model_sessions')).toEqual(
      table(
        ['model', 'session_count', 'session_ids'],
        [
          ['<synthetic>', 1, [6]],
          ['claude-haiku-4-5', 2, [2, 7]],
          ['claude-opus-4-5', 4, [4, 5, 11, 14]],
          ['claude-sonnet-4-5', 4, [1, 2, 9, 14]],
        ],
      ),
    );
  });

  it('model_tokens: multi-model sessions count in full for each model', async () => {
    expect(await rowsOf(file, 'model_tokens')).toEqual(
      table(
        [
          'model',
          'session_count',
          'shared_session_count',
          'input_tokens',
          'output_tokens',
          'cache_read_tokens',
          'cache_creation_tokens',
          'total_tokens',
          'first_started_at',
          'last_started_at',
        ],
        [
          ['<synthetic>', 1, 0, 0, 0, 0, 0, 0, '2025-03-04 14:30:00', '2025-03-04 14:30:00'],
          ['claude-haiku-4-5', 2, 1, 60, 80, 370, 120, 630, '2025-03-03 23:30:00', '2025-04-01 08:00:00'],
          ['claude-opus-4-5', 4, 1, 1009, 2010, 3011, 4012, 10042, '2025-03-09 18:05:00', '2025-03-09 18:50:00'],
          ['claude-sonnet-4-5', 4, 2, 217, 327, 1407, 197, 2148, '2025-03-03 09:15:00', '2025-04-01 23:59:59'],
        ],
      ),
    );
  });

  it('model_daily_tokens', async () => {
    expect(await rowsOf(file, 'model_daily_tokens')).toEqual(
      table(
        ['day', 'model', 'session_count', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'total_tokens'],
        [
          ['2025-03-03', 'claude-haiku-4-5', 1, 10, 20, 300, 40, 370],
          ['2025-03-03', 'claude-sonnet-4-5', 2, 110, 220, 1300, 90, 1720],
          ['2025-03-04', '<synthetic>', 1, 0, 0, 0, 0, 0],
          ['2025-03-09', 'claude-opus-4-5', 3, 1008, 2008, 3008, 4008, 10032],
          ['2025-03-09', 'claude-sonnet-4-5', 1, 7, 7, 7, 7, 28],
          ['2025-04-01', 'claude-haiku-4-5', 1, 50, 60, 70, 80, 260],
          ['2025-04-01', 'claude-sonnet-4-5', 1, 100, 100, 100, 100, 400],
        ],
      ),
    );
  });

  it('stop_reason_totals: exact spelling, End_Turn apart from end_turn', async () => {
    expect(await rowsOf(file, 'stop_reason_totals')).toEqual(
      table(
        ['stop_reason', 'session_count', 'occurrences', 'share_of_occurrences'],
        [
          ['End_Turn', 1, 2, 0.0541],
          ['end_turn', 8, 14, 0.3784],
          ['max_tokens', 1, 1, 0.027],
          ['pause_turn', 1, 1, 0.027],
          ['refusal', 1, 1, 0.027],
          ['stop_sequence', 1, 1, 0.027],
          ['tool_use', 5, 17, 0.4595],
        ],
      ),
    );
  });

  it('session_stop_reasons: every session, NULL counts when unreadable', async () => {
    const n = null;
    expect(await rowsOf(file, 'session_stop_reasons')).toEqual(
      table(
        [
          'session_id',
          'stop_reasons_ok',
          'total_stops',
          'end_turn',
          'tool_use',
          'max_tokens',
          'stop_sequence',
          'pause_turn',
          'refusal',
          'other_stops',
          'other_stop_reasons',
        ],
        [
          [1, true, 6, 2, 4, 0, 0, 0, 0, 0, []],
          [2, true, 8, 3, 4, 1, 0, 0, 0, 0, []],
          [3, true, 0, 0, 0, 0, 0, 0, 0, 0, []],
          [4, true, 2, 2, 0, 0, 0, 0, 0, 0, []],
          [5, true, 4, 1, 0, 0, 0, 0, 1, 2, ['End_Turn']],
          [6, false, n, n, n, n, n, n, n, n, []],
          [7, true, 5, 1, 3, 0, 0, 1, 0, 0, []],
          [8, false, n, n, n, n, n, n, n, n, []],
          [9, true, 6, 2, 3, 0, 1, 0, 0, 0, []],
          [11, true, 1, 1, 0, 0, 0, 0, 0, 0, []],
          [14, true, 5, 2, 3, 0, 0, 0, 0, 0, []],
        ],
      ),
    );
  });

  it('daily_activity', async () => {
    expect(await rowsOf(file, 'daily_activity')).toEqual(
      table(
        [
          'day',
          'session_count',
          'message_count',
          'user_message_count',
          'assistant_message_count',
          'total_tokens',
          'tool_calls',
          'tool_errors',
          'active_repo_count',
          'sessions_without_repo',
          'sidechain_session_count',
        ],
        [
          ['2025-03-03', 2, 30, 12, 18, 1720, 12, 2, 2, 0, 1],
          ['2025-03-04', 2, 5, 2, 3, 26, 3, 1, 0, 2, 0],
          ['2025-03-09', 3, 13, 6, 7, 10032, 5, 1, 2, 1, 1],
          ['2025-04-01', 2, 20, 8, 12, 660, 9, 0, 1, 1, 1],
        ],
      ),
    );
  });

  it('repo_daily_activity', async () => {
    expect(await rowsOf(file, 'repo_daily_activity')).toEqual(
      table(
        ['repo_id', 'day', 'repo_name', 'session_count', 'message_count', 'total_tokens', 'tool_calls', 'tool_errors'],
        [
          [1, '2025-03-03', 'alpha', 2, 30, 1720, 12, 2],
          [1, '2025-03-09', 'alpha', 1, 6, 10000, 0, 0],
          [2, '2025-03-03', CRAB_REPO, 1, 20, 370, 4, 1],
          [2, '2025-04-01', CRAB_REPO, 1, 12, 400, 3, 0],
          [3, '2025-03-09', CJK_REPO, 2, 11, 10028, 4, 0],
        ],
      ),
    );
  });

  it('activity_heatmap: all 168 cells, in the configured zone (UTC here)', async () => {
    const cells = new Map<string, [number, number, number, number]>([
      ['1/9', [1, 10, 1350, 0.1111]],
      ['1/23', [1, 20, 370, 0.1111]],
      ['2/8', [1, 8, 260, 0.1111]],
      ['2/14', [2, 5, 26, 0.2222]],
      ['2/23', [1, 12, 400, 0.1111]],
      ['7/18', [3, 13, 10032, 0.3333]],
    ]);
    const names = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
    const tuples: unknown[][] = [];
    for (let w = 1; w <= 7; w++) {
      for (let h = 0; h < 24; h++) tuples.push([w, names[w - 1], h, ...(cells.get(`${w}/${h}`) ?? [0, 0, 0, 0])]);
    }
    expect(await rowsOf(file, 'activity_heatmap')).toEqual(
      table(['iso_weekday', 'weekday_name', 'hour', 'session_count', 'message_count', 'total_tokens', 'session_share'], tuples),
    );
  });

  it('has an exact-rows test for every view of the catalog', async () => {
    // A new view must get its own exact-rows test: each view's rows are compared in full by a
    // rowsOf(file, '<view>') in one of the exact-rows files.
    const files = ['views.test.ts', 'views-usage.test.ts'];
    const covered = new Set<string>();
    for (const f of files) {
      const text = await readFile(resolve(import.meta.dirname, f), 'utf8');
      for (const m of text.matchAll(/rowsOf\(\w+, '(\w+)'\)/g)) covered.add(m[1]!);
    }
    expect([...covered].sort()).toEqual(CATALOG.map((v) => v.name).sort());
  });
});
