/**
 * A working database with hand-written base rows (repo-recall's sessions and the transcripts'
 * messages), the catalog materialized on it by the puller's own materializeDueViews, then closed
 * so the tests can read it read-only like a published file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { materializeDueViews } from '../../src/puller/materialize.js';
import { loadPriceTable } from '../../src/puller/prices.js';
import { readState } from '../../src/puller/state.js';
import { applyViewInputs } from '../../src/puller/view-inputs.js';
import { openWorkDb } from '../../src/puller/work-schema.js';
import { CATALOG } from '../../src/shared/catalog/index.js';

export interface RecallSession {
  id: number;
  uuid: string;
  started: string | null;
  ended: string | null;
  /** input, output, cache read, cache creation: upstream's totals. */
  tokens: [number, number, number, number];
  models: string[];
  repos: Array<[number, string]>;
}

export interface Message {
  uuid: string;
  at: string;
  model: string | null;
  /** input, output, 5-minute cache write, 1-hour cache write, cache read. */
  tokens: [number, number, number, number, number];
}

const lit = (v: string | null): string => (v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`);

function sessionSql(s: RecallSession): string[] {
  const [input, output, read, creation] = s.tokens;
  const models = `[${s.models.map(lit).join(', ')}]::VARCHAR[]`;
  return [
    `INSERT INTO base.sessions (session_id, session_uuid, cwd, started_at, ended_at, message_count, user_message_count,
       assistant_message_count, source_file, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens,
       is_sidechain_count, models_used, tools_used, tool_counts_ok, stop_reasons_ok)
     VALUES (${s.id}, ${lit(s.uuid)}, '/code', ${lit(s.started)}::TIMESTAMP, ${lit(s.ended)}::TIMESTAMP, 2, 1, 1,
       '/t/${s.uuid}.jsonl', ${input}, ${output}, ${read}, ${creation}, 0, ${models}, [], true, true)`,
    ...s.models.map((m) => `INSERT INTO base.session_models VALUES (${s.id}, ${lit(m)})`),
    ...s.repos.map(([id, name]) => `INSERT INTO base.session_repos VALUES (${s.id}, ${id}, ${lit(name)}, ${lit(`/code/${name}`)})`),
  ];
}

function messageSql(m: Message, i: number): string {
  const [input, output, w5m, w1h, read] = m.tokens;
  return `INSERT INTO base.messages (message_key, session_uuid, message_id, request_id, agent_id, is_sidechain, timestamp, model,
            input_tokens, output_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, service_tier, cwd, source_file)
          VALUES ('msg_${i}:req_${i}', ${lit(m.uuid)}, 'msg_${i}', 'req_${i}', NULL, false, ${lit(m.at)}::TIMESTAMP, ${lit(m.model)},
            ${input}, ${output}, ${w5m}, ${w1h}, ${read}, 'standard', '/code', '/t/${m.uuid}.jsonl')`;
}

/** Materializes the whole catalog over these rows in `timezone`, with the bundled prices; every view must succeed. */
export async function materializedDb(
  timezone: string,
  sessions: RecallSession[],
  messages: Message[],
): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-messages-'));
  const file = join(dir, 'work.duckdb');
  const db = await openWorkDb(file, dir);
  try {
    for (const s of sessions) for (const sql of sessionSql(s)) await db.run(sql);
    for (const [i, m] of messages.entries()) await db.run(messageSql(m, i));
    const inputs = { timezone, prices: await loadPriceTable(null) };
    await applyViewInputs(db, inputs, await readState(db));
    const outcomes = await materializeDueViews(db, CATALOG, { baseVersion: 1, scanVersion: 1, nowEpoch: Date.now() / 1000, inputs, ignoreIntervals: true });
    const failed = outcomes.filter((o) => o.status !== 'materialized');
    if (failed.length > 0) throw new Error(`views failed: ${failed.map((o) => `${o.name}: ${o.error}`).join('; ')}`);
    if (outcomes.length !== CATALOG.length) throw new Error(`only ${outcomes.length} of ${CATALOG.length} views materialized`);
  } finally {
    db.close();
  }
  return { file, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
