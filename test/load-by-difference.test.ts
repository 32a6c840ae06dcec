import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { homePaths } from '../src/shared/paths.js';
import { generatePayloadText } from './fake-recall/generate.js';
import { startFakeRecall, type FakeRecall } from './fake-recall/server.js';
import { runCli, tempHome, type TempHome } from './helpers/processes.js';
import { queryFile } from './helpers/snapshot.js';

let recall: FakeRecall;
const homes: TempHome[] = [];

beforeEach(async () => {
  recall = await startFakeRecall({ sessions: 3000, seed: 5 });
});

afterEach(async () => {
  await recall.close();
  await Promise.all(homes.splice(0).map((h) => h.cleanup()));
});

async function newHome(): Promise<string> {
  const home = await tempHome();
  homes.push(home);
  return home.dir;
}

interface TickLine {
  outcome: string;
  sessions?: number;
  rejected?: number;
  rejected_by?: Record<string, number>;
  load?: { mode: 'full' | 'changed'; staged: number; written: number; removed: number };
  write_bytes?: number;
}

/** One `pull` of everything upstream serves now; its tick summary line and its warnings. */
async function pull(home: string): Promise<{ tick: TickLine; warnings: string[] }> {
  const r = await runCli(['pull', '--json', '--home', home, '--repo-recall-url', recall.url]);
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; warning?: string } & TickLine);
  const tick = lines.filter((l) => l.msg === 'tick').pop();
  expect(tick, r.stderr).toBeDefined();
  return { tick: tick!, warnings: lines.filter((l) => l.msg === 'tick warning').map((l) => l.warning ?? '') };
}

/** Every table of a published file but the identity of the generation: base tables, views, per-view state and the load's counts. */
async function tablesOf(path: string): Promise<string[]> {
  const rows = await queryFile<{ name: string }>(
    path,
    `SELECT schema_name || '.' || table_name AS name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

/** Rows in `table` of one file that the other lacks, both ways (multiset difference). */
async function differingRows(a: string, b: string, table: string): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run(`ATTACH '${a}' AS a (READ_ONLY)`);
    await conn.run(`ATTACH '${b}' AS b (READ_ONLY)`);
    const reader = await conn.runAndReadAll(
      `SELECT ((SELECT count(*) FROM (SELECT * FROM a.${table} EXCEPT ALL SELECT * FROM b.${table}))
             + (SELECT count(*) FROM (SELECT * FROM b.${table} EXCEPT ALL SELECT * FROM a.${table})))::DOUBLE`,
    );
    return Number(reader.getRowsJson()[0]![0]);
  } finally {
    conn.disconnectSync();
    instance.closeSync();
  }
}

/** What was loaded by difference is exactly what a fresh full load of the same payload gives. */
async function expectSameAsFullLoad(home: string): Promise<void> {
  const fresh = await newHome();
  const full = await pull(fresh);
  expect(full.tick.load?.mode).toBe('full');
  const mine = homePaths(home).published;
  const theirs = homePaths(fresh).published;
  const tables = await tablesOf(mine);
  expect(tables).toEqual(await tablesOf(theirs));
  expect(tables).toContain('base.sessions');
  // The puller's bookkeeping stays in its working database.
  expect(tables.filter((t) => t === 'lattice.element_digests' || t === 'lattice.held_payload')).toEqual([]);
  for (const table of tables) {
    // lattice.meta and lattice.views carry times and generations; their counts are compared below.
    if (table.startsWith('lattice.')) continue;
    expect(await differingRows(mine, theirs, table), table).toBe(0);
  }
  const counts = `SELECT session_count::DOUBLE AS sessions, rejected_rows::DOUBLE AS rejected, scan_version::DOUBLE AS scan_version FROM lattice.meta`;
  expect(await queryFile(mine, counts)).toEqual(await queryFile(theirs, counts));
  const viewCounts = `SELECT name, row_count::DOUBLE AS rows FROM lattice.views ORDER BY name`;
  expect(await queryFile(mine, viewCounts)).toEqual(await queryFile(theirs, viewCounts));
}

describe('loading by difference', () => {
  it('stages and rewrites only the sessions that changed, came or went, and ends with what a full load of the same payload gives', async () => {
    const home = await newHome();
    const first = await pull(home);
    expect(first.tick.load).toMatchObject({ mode: 'full', staged: 3000 });

    // A rescan: about 2% of the sessions changed, 30 new ones.
    await recall.setData({ sessions: 3030, seed: 5, revision: 1, revisedPercent: 2 });
    const second = await pull(home);
    const load = second.tick.load!;
    expect(load.mode).toBe('changed');
    // The changed and the new elements only: about 2% of 3000, and 30.
    expect(load.staged).toBeGreaterThan(30 + 3000 * 0.01);
    expect(load.staged).toBeLessThan(30 + 3000 * 0.04);
    expect(load.written).toBeGreaterThan(30 + 3000 * 0.01);
    // Nothing went: no session may be taken out.
    expect(load.removed).toBe(0);
    expect(second.tick.sessions).toBe(first.tick.sessions! + 30);
    await expectSameAsFullLoad(home);

    // Another rescan: 50 sessions gone from the end, a different 2% changed.
    await recall.setData({ sessions: 2980, seed: 5, revision: 2, revisedPercent: 2 });
    const third = await pull(home);
    expect(third.tick.load?.mode).toBe('changed');
    expect(third.tick.load?.removed).toBeGreaterThan(0);
    expect(third.tick.rejected).toBe(first.tick.rejected);
    await expectSameAsFullLoad(home);
  });

  it('takes a payload whose elements are all as loaded without rewriting a session (a new scan_version only)', async () => {
    const home = await newHome();
    await pull(home);
    await recall.setData({ sessions: 3000, seed: 5 });
    const again = await pull(home);
    expect(again.tick.outcome).toBe('published');
    expect(again.tick.load).toMatchObject({ mode: 'changed', written: 0, removed: 0 });
    await expectSameAsFullLoad(home);
  });

  it('counts an element sent twice byte for byte once, in a full load and in the changed loads after it', async () => {
    const home = await newHome();
    const text = generatePayloadText({ sessions: 40, seed: 21, messy: false });
    const elements = (JSON.parse(text) as { sessions: unknown[] }).sessions;
    const payload = (list: unknown[]) => JSON.stringify({ sessions: list, generated_at: 1767225600, scan_version: 1 });
    await recall.setPayloadText(payload([...elements, elements[7]]));
    const first = await pull(home);
    expect(first.tick).toMatchObject({ sessions: 40, rejected: 1, load: { mode: 'full' } });
    // Another element changes: the twice-sent one is kept as loaded, and still counted once.
    const changed = structuredClone(elements) as Array<{ session: { message_count: number } }>;
    changed[3]!.session.message_count += 1;
    await recall.setPayloadText(payload([...changed, elements[7]]));
    const second = await pull(home);
    expect(second.tick).toMatchObject({ sessions: 40, rejected: 1, load: { mode: 'changed', staged: 1 } });
    await expectSameAsFullLoad(home);
  });

  it('settles a session id repeated across changed and unchanged elements with a full load, as a fresh pull would', async () => {
    const home = await newHome();
    const element = (id: number, uuid: string) =>
      JSON.parse(
        generatePayloadText({ sessions: 1, seed: id, messy: false })
          .replace(/"id":1,/, `"id":${id},`)
          .replace(/"session_uuid":"[^"]*"/, `"session_uuid":"${uuid}"`),
      ).sessions[0] as {
        session: Record<string, unknown>;
      };
    const payload = (elements: unknown[]) => JSON.stringify({ sessions: elements, generated_at: 1767225600, scan_version: 1 });
    const base = [element(1, 'u-1'), element(2, 'u-2'), element(3, 'u-3')];
    await recall.setPayloadText(payload(base));
    expect((await pull(home)).tick.load?.mode).toBe('full');

    // A new element repeats id 2 with a lower uuid: it wins, though the element it beats did not change.
    const rival = element(2, 'a-2');
    rival.session.message_count = 9;
    await recall.setPayloadText(payload([...base, rival]));
    const tangled = await pull(home);
    expect(tangled.tick.load?.mode).toBe('full');
    expect(tangled.warnings.join('\n')).toMatch(/repeated/);
    expect(await queryFile(homePaths(home).published, `SELECT session_uuid FROM base.sessions WHERE session_id = 2`)).toEqual([{ session_uuid: 'a-2' }]);
    await expectSameAsFullLoad(home);

    // The winner goes; the copy it beat (unchanged, never loaded) is the session again.
    await recall.setPayloadText(payload(base));
    const back = await pull(home);
    expect(back.tick.load?.mode).toBe('full');
    expect(await queryFile(homePaths(home).published, `SELECT session_uuid FROM base.sessions WHERE session_id = 2`)).toEqual([{ session_uuid: 'u-2' }]);
    await expectSameAsFullLoad(home);
  });
});

describe('numbers that cannot be true', () => {
  it('are refused at the door, each with its reason; a row dated in the future is judged again with the next payload', async () => {
    const home = await newHome();
    const clean = (JSON.parse(generatePayloadText({ sessions: 40, seed: 21, messy: false })) as { sessions: Array<{ session: Record<string, unknown> }> })
      .sessions;
    const now = Math.floor(Date.now() / 1000);
    let id = 100;
    /** Session 1 of the clean payload with a new id and `patch` over it. */
    const bad = (patch: Record<string, unknown>) => ({ ...clean[0]!, session: { ...clean[0]!.session, id: ++id, session_uuid: `bad-${id}`, ...patch } });
    const elements = [
      ...clean,
      // the issue's: three token fields at the INT64 maximum (made session_facts overflow), written out exactly below
      bad({ input_tokens: 'INT64_MAX', output_tokens: 'INT64_MAX', cache_read_tokens: 'INT64_MAX' }),
      bad({ input_tokens: -5 }),
      bad({ cache_creation_tokens: 1e12 + 1 }),
      bad({ message_count: 1.5 }),
      bad({ duration_ms: 2.5 }),
      bad({ stop_reason_counts_json: '{"end_turn": 2.5}' }),
      bad({ user_message_count: -1 }),
      bad({ duration_ms: -1000 }),
      bad({ tool_call_counts_json: '{"Bash": {"calls": -1, "errors": 0}}' }),
      bad({ tool_call_counts_json: '{"Bash": {"calls": 3, "errors": 1e13}}' }),
      bad({ started_at: 1767225600, ended_at: 1767225600 - 60 }),
      bad({ started_at: Date.UTC(2022, 11, 31, 23, 59, 59) / 1000, ended_at: null }),
      bad({ started_at: 1767225600, ended_at: 253402300799 }), // the year 9999
      bad({ started_at: now + 2 * 86400, ended_at: null }), // two days ahead of the clock
      // at the bounds: accepted
      bad({
        input_tokens: 1e12,
        output_tokens: 1e12,
        cache_read_tokens: 1e12,
        cache_creation_tokens: 1e12,
        started_at: 1672531200,
        ended_at: now + 3600,
        duration_ms: null,
      }),
    ];
    const payload = (list: unknown[]) =>
      JSON.stringify({ sessions: list, generated_at: 1767225600, scan_version: 1 }).replaceAll('"INT64_MAX"', '9223372036854775807');
    await recall.setPayloadText(payload(elements));
    const first = await pull(home);
    expect(first.tick).toMatchObject({ outcome: 'published', sessions: 41, rejected: 14, load: { mode: 'full' } });
    expect(first.tick.rejected_by).toEqual({
      'a count is negative or above 10^12': 4,
      'a count is not a whole number': 3,
      'a timestamp is before 2023': 1,
      'a timestamp is more than a day in the future': 2,
      'a token count is negative or above 10^12': 3,
      'it ended before it started': 1,
    });
    const file = homePaths(home).published;
    // Every view refreshed, the one at the bounds summed exactly.
    expect(await queryFile(file, `SELECT count(*)::DOUBLE AS n FROM lattice.views WHERE last_error IS NOT NULL OR stale`)).toEqual([{ n: 0 }]);
    expect(await queryFile(file, `SELECT total_tokens::VARCHAR AS t FROM main.session_facts WHERE session_id = ${id}`)).toEqual([{ t: '4000000000000' }]);
    expect(await queryFile(file, `SELECT count(*)::DOUBLE AS n FROM base.sessions WHERE session_id > 100`)).toEqual([{ n: 1 }]);

    // One clean session changes. The two future-dated rows were not remembered as loaded: they are
    // staged and judged again (still in the future), every other refused row is not.
    const changed = structuredClone(elements) as Array<{ session: { message_count: number } }>;
    changed[3]!.session.message_count += 1;
    await recall.setPayloadText(payload(changed));
    const second = await pull(home);
    expect(second.tick).toMatchObject({ sessions: 41, rejected: 14, load: { mode: 'changed', staged: 3, written: 1 } });
    expect(second.tick.rejected_by).toEqual(first.tick.rejected_by);
    await expectSameAsFullLoad(home);
  });
});
