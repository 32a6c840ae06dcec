import { BASE_TABLES } from '../shared/base-tables.js';
import { BASE_SCHEMA, sqlLiteral } from '../shared/snapshot.js';
import { PayloadShapeError } from './payload-splitter.js';
import { recordLoad, type LoadStamp } from './state.js';
import type { WorkDb } from './work-db.js';

/** How upstream's session object is read; a value of the wrong type becomes NULL, then validation decides. */
const SESSION_TYPE = `STRUCT(
  id BIGINT, session_uuid VARCHAR, cwd VARCHAR, started_at BIGINT, ended_at BIGINT,
  message_count BIGINT, user_message_count BIGINT, assistant_message_count BIGINT,
  last_prompt VARCHAR, source_file VARCHAR, duration_ms BIGINT,
  input_tokens BIGINT, output_tokens BIGINT, cache_read_tokens BIGINT, cache_creation_tokens BIGINT,
  parent_uuid VARCHAR, request_id VARCHAR, message_id VARCHAR, is_sidechain_count BIGINT,
  models_used VARCHAR[], tools_used VARCHAR[],
  tool_call_counts_json VARCHAR, stop_reason_counts_json VARCHAR)`;

/** The fields a session cannot be loaded without (upstream never sends them as null). */
const REQUIRED = [
  'id',
  'session_uuid',
  'source_file',
  'message_count',
  'user_message_count',
  'assistant_message_count',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_creation_tokens',
  'is_sidechain_count',
] as const;

export interface LoadResult {
  sessions: number;
  /** Elements skipped: unreadable, missing a required field, or a duplicate id. */
  rejected: number;
  /** Why rows were skipped, by reason. */
  rejectedBy: Record<string, number>;
}

/** Upstream timestamps are unix seconds; the tables hold UTC TIMESTAMPs. */
function timestamp(expr: string): string {
  return `CASE WHEN ${expr} BETWEEN 0 AND 253402300799 THEN make_timestamp(${expr} * 1000000) END`;
}

/**
 * Replaces every base table from the newline-delimited payload in one transaction, together with
 * the ETag and scan_version it came with: readers of the working database never see a half load,
 * and a failed load leaves the previous data and ETag in place.
 */
export async function loadBaseTables(
  db: WorkDb,
  ndjsonPath: string,
  elements: number,
  stamp: Omit<LoadStamp, 'sessionCount' | 'rejectedRows'>,
  /**
   * Called first inside the load's transaction, with the number of valid sessions: throwing rolls
   * the load back before any table is touched (the shrink guard); statements it runs commit with it.
   */
  vet?: (sessions: number) => Promise<void>,
): Promise<LoadResult> {
  const missingRequired = REQUIRED.map((f) => `session.${f} IS NULL`).join(' OR ');
  // One pass over the file: DuckDB reads the lines in parallel; the count strings are parsed here
  // too, so nothing below reads the JSON again.
  await db.run(`
    CREATE OR REPLACE TEMP TABLE staging AS
    SELECT session.*,
           repos,
           CASE WHEN session IS NULL THEN 'not a session object'
                WHEN ${missingRequired} THEN 'a required field is missing or has the wrong type'
           END AS problem,
           TRY_CAST(CASE WHEN json_valid(session.tool_call_counts_json) THEN session.tool_call_counts_json END::JSON
                    AS MAP(VARCHAR, STRUCT(calls BIGINT, errors BIGINT))) AS tool_map,
           TRY_CAST(CASE WHEN json_valid(session.stop_reason_counts_json) THEN session.stop_reason_counts_json END::JSON
                    AS MAP(VARCHAR, BIGINT)) AS stop_map
    FROM read_json(${sqlLiteral(ndjsonPath)},
                   format = 'newline_delimited',
                   ignore_errors = true,
                   maximum_object_size = 268435456,
                   columns = {session: '${SESSION_TYPE.replace(/\s+/g, ' ')}', repos: 'JSON[]'})`);
  const duplicates =
    (await db.value<number>(`SELECT (count(*) - count(DISTINCT id))::DOUBLE FROM staging WHERE problem IS NULL`)) ?? 0;
  if (duplicates > 0) {
    // A repeated id keeps one occurrence (the lowest uuid, so the choice is deterministic).
    await db.run(`
      UPDATE staging SET problem = 'duplicate id'
      WHERE problem IS NULL AND rowid NOT IN (
        SELECT first(rowid ORDER BY session_uuid) FROM staging WHERE problem IS NULL GROUP BY id)`);
  }
  try {
    const problems = await db.rows<{ problem: string | null; n: number }>(
      `SELECT problem, count(*)::DOUBLE AS n FROM staging GROUP BY problem`,
    );
    const sessions = problems.find((p) => p.problem === null)?.n ?? 0;
    const staged = problems.reduce((sum, p) => sum + p.n, 0);
    const rejectedBy: Record<string, number> = {};
    if (elements > staged) rejectedBy['unparsable JSON'] = elements - staged;
    for (const p of problems) if (p.problem !== null) rejectedBy[p.problem] = p.n;
    if (elements > 0 && sessions === 0) {
      // Every row failing is upstream speaking a different format, not bad rows: keep what is published.
      throw new PayloadShapeError(`none of its ${elements} sessions could be read (${Object.keys(rejectedBy).join(', ')})`);
    }
    return await db.transaction(async () => {
      // Before the tables are replaced: a payload held back costs no more than its staging.
      await vet?.(sessions);
      await db.run(`CREATE OR REPLACE TEMP VIEW valid AS SELECT * FROM staging WHERE problem IS NULL`);
      for (const table of BASE_TABLES) {
        await db.run(`DELETE FROM ${BASE_SCHEMA}.${table}`);
      }
      await db.run(`
        INSERT INTO ${BASE_SCHEMA}.sessions
        SELECT id, session_uuid, cwd, ${timestamp('started_at')}, ${timestamp('ended_at')},
               message_count, user_message_count, assistant_message_count, last_prompt, source_file,
               duration_ms, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens,
               parent_uuid, request_id, message_id, is_sidechain_count,
               coalesce(list_filter(models_used, m -> m IS NOT NULL), []),
               coalesce(list_filter(tools_used, t -> t IS NOT NULL), []),
               -- An absent or empty count string is a session with no calls, not an error.
               coalesce(tool_call_counts_json, '') = ''
                 OR (tool_map IS NOT NULL AND NOT coalesce(list_bool_or(list_transform(map_values(tool_map), v -> v.calls IS NULL)), false)),
               coalesce(stop_reason_counts_json, '') = ''
                 OR (stop_map IS NOT NULL AND NOT coalesce(list_bool_or(list_transform(map_values(stop_map), v -> v IS NULL)), false))
        FROM valid`);
      await db.run(`
        INSERT INTO ${BASE_SCHEMA}.session_repos
        SELECT id, repo_id, repo_name, repo_path
        FROM (SELECT id,
                     TRY_CAST(r->>0 AS BIGINT) AS repo_id,
                     r->>1 AS repo_name,
                     r->>2 AS repo_path
              FROM (SELECT id, unnest(repos) AS r FROM valid))
        WHERE repo_id IS NOT NULL
        -- A repo listed twice in one session keeps one row: the first name and path by value.
        QUALIFY row_number() OVER (PARTITION BY id, repo_id ORDER BY repo_name NULLS LAST, repo_path NULLS LAST) = 1`);
      await db.run(`
        INSERT INTO ${BASE_SCHEMA}.tool_calls
        SELECT id, tool_name, sum(counts.calls), sum(coalesce(counts.errors, 0))
        FROM (SELECT id, unnest(map_keys(tool_map)) AS tool_name, unnest(map_values(tool_map)) AS counts FROM valid)
        WHERE counts.calls IS NOT NULL AND tool_name <> ''
        -- A key repeated inside one count string is added up: one row per (session, tool).
        GROUP BY id, tool_name`);
      await db.run(`
        INSERT INTO ${BASE_SCHEMA}.stop_reasons
        SELECT id, stop_reason, sum(count)
        FROM (SELECT id, unnest(map_keys(stop_map)) AS stop_reason, unnest(map_values(stop_map)) AS count FROM valid)
        WHERE count IS NOT NULL AND stop_reason <> ''
        GROUP BY id, stop_reason`);
      await db.run(`
        INSERT INTO ${BASE_SCHEMA}.session_models
        SELECT DISTINCT id, model
        FROM (SELECT id, unnest(models_used) AS model FROM valid)
        WHERE model IS NOT NULL AND model <> ''`);

      const rejected = Math.max(0, elements - sessions);
      await recordLoad(db, { ...stamp, sessionCount: sessions, rejectedRows: rejected });
      return { sessions, rejected, rejectedBy };
    });
  } finally {
    await db.run('DROP TABLE IF EXISTS temp.staging');
    await db.run('DROP VIEW IF EXISTS temp.valid');
  }
}
