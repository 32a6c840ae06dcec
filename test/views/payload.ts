/**
 * The hand-made upstream payload the view tests check exact rows against: eleven valid sessions
 * and four rows the loader must reject, covering what a real payload throws at the views.
 *
 * | id | repos                        | started (UTC)        | notes                                                        |
 * |----|------------------------------|----------------------|--------------------------------------------------------------|
 * |  1 | 1 (as "alpha-old")           | Mon 2025-03-03 09:15 | Bash + Read                                                  |
 * |  2 | 1 ("alpha-old"), 2 (🦀)      | Mon 2025-03-03 23:30 | runs past midnight, no duration_ms, lowercase "bash", sidechain, model listed twice |
 * |  3 | none, cwd /tmp               | Tue 2025-03-04 14:00 | empty count strings, no models, no ended_at                  |
 * |  4 | 3 (日本語)                    | none                 | no timestamps at all; CJK tool name; NotebookEdit only here  |
 * |  5 | 1 ("alpha"), 3               | Sun 2025-03-09 18:05 | tool counts "{" (unreadable); End_Turn case variant; model "" |
 * |  6 | none, cwd null               | Tue 2025-03-04 14:30 | tool key repeated; stop counts with a non-number (unreadable) |
 * |  7 | none, cwd /tmp               | Tue 2025-04-01 08:00 | "errors" missing; pause_turn                                 |
 * |  8 | none, cwd with ✨            | none (ended only)    | tool counts "null", stop counts "[]" (both unreadable), models null |
 * |  9 | 2 (listed twice) + a bad one | Tue 2025-04-01 23:59:59 | a tool with 0 calls                                       |
 * | 11 | none, cwd ""                 | Sun 2025-03-09 18:50 | Edit with every call failed                                  |
 * | 14 | 3 (name null)                | Sun 2025-03-09 18:20 | CJK tool again; two models                                   |
 *
 * Rejected: a session without session_uuid (id 10), a non-numeric id, a second id 3 (higher uuid,
 * so the first one is kept), and `"session": null`.
 */

const SONNET = 'claude-sonnet-4-5';
const HAIKU = 'claude-haiku-4-5';
const OPUS = 'claude-opus-4-5';
export const CJK_TOOL = 'mcp__ツール__検索';
export const CRAB_REPO = '🦀-playground';
export const CJK_REPO = '日本語-notes';
export const SPARKLE_CWD = '/Users/luca/Desktop/scratch ✨';

export type Repo = [unknown, unknown, unknown];

export interface SessionInput {
  id: unknown;
  cwd?: string | null;
  started_at?: number | null;
  ended_at?: number | null;
  duration_ms?: number | null;
  messages: [number, number, number];
  tokens: [number, number, number, number];
  models?: unknown;
  tools?: string;
  stops?: string;
  sidechain?: number;
  uuid?: string | undefined;
}

/** Unix seconds of a UTC time written `YYYY-MM-DD HH:MM:SS`. */
export function utc(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}Z`) / 1000;
}

export function uuidOf(id: number): string {
  return `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`;
}

export function session(s: SessionInput): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: s.id,
    session_uuid: s.uuid ?? (typeof s.id === 'number' ? uuidOf(s.id) : '00000000-0000-4000-8000-999999999999'),
    cwd: s.cwd ?? null,
    started_at: s.started_at ?? null,
    ended_at: s.ended_at ?? null,
    message_count: s.messages[0],
    user_message_count: s.messages[1],
    assistant_message_count: s.messages[2],
    last_prompt: 'fix the failing test 🐛 请修复',
    source_file: `/Users/luca/.claude/projects/x/${String(s.id)}.jsonl`,
    duration_ms: s.duration_ms ?? null,
    input_tokens: s.tokens[0],
    output_tokens: s.tokens[1],
    cache_read_tokens: s.tokens[2],
    cache_creation_tokens: s.tokens[3],
    parent_uuid: null,
    request_id: null,
    message_id: null,
    is_sidechain_count: s.sidechain ?? 0,
    models_used: s.models === undefined ? [] : s.models,
    tools_used: [],
    tool_call_counts_json: s.tools ?? '',
    stop_reason_counts_json: s.stops ?? '',
  };
  return out;
}

/** Python-style count strings, as repo-recall writes them. */
function tools(entries: Array<[string, number, number?]>): string {
  return `{${entries.map(([name, calls, errors]) => `${JSON.stringify(name)}: {"calls": ${calls}${errors === undefined ? '' : `, "errors": ${errors}`}}`).join(', ')}}`;
}
export function stops(entries: Array<[string, number]>): string {
  return `{${entries.map(([name, n]) => `${JSON.stringify(name)}: ${n}`).join(', ')}}`;
}

const ALPHA_OLD: Repo = [1, 'alpha-old', '/code/alpha-old'];
const ALPHA: Repo = [1, 'alpha', '/code/alpha'];
const CRAB: Repo = [2, CRAB_REPO, `/code/${CRAB_REPO}`];
const CJK: Repo = [3, CJK_REPO, '/code/日本語'];

const HAND_MADE_ELEMENTS: Array<{ session: unknown; repos: Repo[] }> = [
  {
    session: session({
      id: 1,
      cwd: '/code/alpha',
      started_at: utc('2025-03-03 09:15:00'),
      ended_at: utc('2025-03-03 09:45:00'),
      duration_ms: 1_800_000,
      messages: [10, 4, 6],
      tokens: [100, 200, 1000, 50],
      models: [SONNET],
      tools: tools([
        ['Bash', 3, 1],
        ['Read', 5, 0],
      ]),
      stops: stops([
        ['tool_use', 4],
        ['end_turn', 2],
      ]),
    }),
    repos: [ALPHA_OLD],
  },
  {
    session: session({
      id: 2,
      cwd: `/code/${CRAB_REPO}/src`,
      started_at: utc('2025-03-03 23:30:00'),
      ended_at: utc('2025-03-04 00:30:00'),
      duration_ms: null,
      messages: [20, 8, 12],
      tokens: [10, 20, 300, 40],
      models: [SONNET, HAIKU, SONNET],
      tools: tools([
        ['bash', 2, 0],
        ['Read', 1, 1],
        ['Task', 1, 0],
      ]),
      stops: stops([
        ['end_turn', 3],
        ['tool_use', 4],
        ['max_tokens', 1],
      ]),
      sidechain: 5,
    }),
    repos: [ALPHA_OLD, CRAB],
  },
  {
    session: session({
      id: 3,
      cwd: '/tmp',
      started_at: utc('2025-03-04 14:00:00'),
      ended_at: null,
      duration_ms: 60_000,
      messages: [2, 1, 1],
      tokens: [5, 6, 7, 8],
      models: [],
      tools: '',
      stops: '',
    }),
    repos: [],
  },
  {
    session: session({
      id: 4,
      cwd: '/code/日本語',
      messages: [4, 2, 2],
      tokens: [1, 2, 3, 4],
      models: [OPUS],
      tools: tools([
        ['Read', 2, 0],
        [CJK_TOOL, 1, 1],
        ['NotebookEdit', 1, 0],
      ]),
      stops: stops([['end_turn', 2]]),
    }),
    repos: [CJK],
  },
  {
    session: session({
      id: 5,
      cwd: '/code/alpha',
      started_at: utc('2025-03-09 18:05:00'),
      ended_at: utc('2025-03-09 18:10:00'),
      duration_ms: 300_000,
      messages: [6, 3, 3],
      tokens: [1000, 2000, 3000, 4000],
      models: [OPUS, ''],
      tools: '{',
      stops: stops([
        ['end_turn', 1],
        ['End_Turn', 2],
        ['refusal', 1],
      ]),
    }),
    repos: [ALPHA, CJK],
  },
  {
    session: session({
      id: 6,
      cwd: null,
      started_at: utc('2025-03-04 14:30:00'),
      ended_at: utc('2025-03-04 14:31:00'),
      messages: [3, 1, 2],
      tokens: [0, 0, 0, 0],
      models: ['<synthetic>'],
      tools: '{"Bash": {"calls": 1, "errors": 0}, "Bash": {"calls": 2, "errors": 1}}',
      stops: '{"end_turn": "x"}',
    }),
    repos: [],
  },
  {
    session: session({
      id: 7,
      cwd: '/tmp',
      started_at: utc('2025-04-01 08:00:00'),
      ended_at: utc('2025-04-01 08:20:00'),
      duration_ms: 1_200_000,
      messages: [8, 3, 5],
      tokens: [50, 60, 70, 80],
      models: [HAIKU],
      tools: tools([
        ['Read', 4],
        ['Grep', 2, 0],
      ]),
      stops: stops([
        ['tool_use', 3],
        ['end_turn', 1],
        ['pause_turn', 1],
      ]),
      sidechain: 2,
    }),
    repos: [],
  },
  {
    session: session({
      id: 8,
      cwd: SPARKLE_CWD,
      ended_at: utc('2025-04-02 10:00:00'),
      messages: [1, 1, 0],
      tokens: [9, 9, 9, 9],
      models: null,
      tools: 'null',
      stops: '[]',
    }),
    repos: [],
  },
  {
    session: session({
      id: 9,
      cwd: `/code/${CRAB_REPO}`,
      started_at: utc('2025-04-01 23:59:59'),
      ended_at: utc('2025-04-02 00:10:00'),
      duration_ms: 601_000,
      messages: [12, 5, 7],
      tokens: [100, 100, 100, 100],
      models: [SONNET],
      tools: tools([
        ['Read', 3, 0],
        ['Bash', 0, 0],
      ]),
      stops: stops([
        ['tool_use', 3],
        ['end_turn', 2],
        ['stop_sequence', 1],
      ]),
    }),
    repos: [CRAB, CRAB, ['x', 'bad', '/bad']],
  },
  // rejected: no session_uuid
  (() => {
    const s = session({ id: 10, messages: [1, 1, 0], tokens: [1, 1, 1, 1] });
    delete s.session_uuid;
    return { session: s, repos: [ALPHA] };
  })(),
  {
    session: session({
      id: 11,
      cwd: '',
      started_at: utc('2025-03-09 18:50:00'),
      messages: [2, 1, 1],
      tokens: [1, 1, 1, 1],
      models: [OPUS],
      tools: tools([['Edit', 1, 1]]),
      stops: stops([['end_turn', 1]]),
    }),
    repos: [],
  },
  // rejected: the id is not a number
  { session: session({ id: 'twelve', messages: [1, 1, 0], tokens: [1, 1, 1, 1] }), repos: [] },
  {
    session: session({
      id: 14,
      cwd: '/code/日本語/docs',
      started_at: utc('2025-03-09 18:20:00'),
      ended_at: utc('2025-03-09 18:40:00'),
      duration_ms: 1_200_000,
      messages: [5, 2, 3],
      tokens: [7, 7, 7, 7],
      models: [OPUS, SONNET],
      tools: tools([
        ['Read', 1, 0],
        ['Edit', 2, 0],
        [CJK_TOOL, 1, 0],
      ]),
      stops: stops([
        ['end_turn', 2],
        ['tool_use', 3],
      ]),
      sidechain: 1,
    }),
    repos: [[3, null, '/code/日本語']],
  },
  // rejected: id 3 again, with a higher uuid (the loader keeps the lowest)
  {
    session: session({
      id: 3,
      uuid: 'ffffffff-0000-4000-8000-000000000003',
      cwd: '/elsewhere',
      started_at: utc('2025-05-05 05:05:05'),
      messages: [99, 50, 49],
      tokens: [9999, 9999, 9999, 9999],
      models: [OPUS],
      tools: tools([['Bash', 99, 99]]),
    }),
    repos: [ALPHA],
  },
  // rejected: not a session object
  { session: null, repos: [] },
];

export const HAND_MADE_VALID_SESSIONS = 11;
export const HAND_MADE_REJECTED = 4;

export function handMadePayloadText(scanVersion = 1): string {
  return JSON.stringify({ sessions: HAND_MADE_ELEMENTS, generated_at: utc('2025-04-03 00:00:00'), scan_version: scanVersion });
}
