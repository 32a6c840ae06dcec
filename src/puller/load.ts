import { BASE_TABLES } from '../shared/base-tables.js';
import { BASE_SCHEMA } from '../shared/snapshot.js';
import { PayloadShapeError } from './payload-splitter.js';
import { dropStaging, FUTURE_PROBLEM } from './staging.js';
import { DIGESTS_TABLE } from './element-index.js';
import { recordLoad, type LoadStamp } from './state.js';
import type { WorkDb } from './work-db.js';

/** What the fetch staged into `temp.staging` (see staging.ts), and how it relates to what is loaded. */
export interface StagedPayload {
  /** Elements in the payload. */
  elements: number;
  /** Elements staged (lines the staging files held). */
  staged: number;
  /**
   * `full`: every element is staged and replaces everything loaded. `changed`: only the elements
   * whose digest the loaded payload does not have are staged; the rest stay as loaded.
   */
  mode: 'full' | 'changed';
  /** (`changed`) Digests of loaded elements this payload no longer has: changed or gone. */
  gone: readonly string[];
}

export interface LoadResult {
  mode: StagedPayload['mode'];
  /** Elements the split staged (changed or new; all of them in a full load). */
  staged: number;
  sessions: number;
  /** Elements skipped: unreadable, missing a required field, or a duplicate id. */
  rejected: number;
  /** Why rows were skipped, by reason. */
  rejectedBy: Record<string, number>;
  /** Sessions written to the base tables (new or changed; all of them in a full load). */
  written: number;
  /** Sessions taken out of the base tables that the payload no longer has. */
  removed: number;
  /** Whether the base tables changed at all (a payload whose elements are all as loaded leaves them be). */
  changed: boolean;
  /** Digests the element table gained (it lost `gone`): what the in-memory index must apply. */
  addedDigests: string[];
}

/**
 * What a load came to: the tables brought to the payload (`loaded`); nothing touched because the
 * vetting held the payload back (`held`, with what the vetting said); or nothing touched because a
 * changed-mode load met a session id repeated across staged and kept elements (`needs-full`):
 * which copy wins depends on elements that were not staged, so only a full load can decide.
 */
export type LoadOutcome<H> = ({ kind: 'loaded' } & LoadResult) | { kind: 'held'; hold: H } | { kind: 'needs-full'; ids: number; reason: string };

/** The vetting of a load (the shrink guard): hold it back, or go on (running `commit` inside the load's transaction). */
export type Vetting<H> = { hold: H } | { commit: () => Promise<void> };

function needsFull(ids: number): { kind: 'needs-full'; ids: number; reason: string } {
  return { kind: 'needs-full', ids, reason: `${ids} session id(s) repeated across changed and unchanged elements: a full load decides which copy to keep` };
}

/**
 * Upstream timestamps are unix seconds, staged as DOUBLE; the tables hold UTC TIMESTAMPs, to the
 * second as before. Staging refused those outside 2023..tomorrow, so the range here is only a guard.
 */
function timestamp(expr: string): string {
  return `CASE WHEN ${expr} BETWEEN 0 AND 253402300799 THEN make_timestamp(round(${expr})::BIGINT * 1000000) END`;
}

/** SQL: a staged problem of the bytes alone, so remembered with its digest (not the clock's; see FUTURE_PROBLEM). */
const LASTING_PROBLEM = `problem IS DISTINCT FROM '${FUTURE_PROBLEM}'`;

/** Settles repeated ids among the staged rows (after the staging sink has filled `temp.staging`). */
async function markDuplicates(db: WorkDb): Promise<void> {
  const duplicates = (await db.value<number>(`SELECT (count(*) - count(DISTINCT id))::DOUBLE FROM staging WHERE problem IS NULL`)) ?? 0;
  if (duplicates > 0) {
    // A repeated id keeps one occurrence (the lowest uuid, so the choice is deterministic).
    await db.run(`
      UPDATE staging SET problem = 'duplicate id'
      WHERE problem IS NULL AND rowid NOT IN (
        SELECT first(rowid ORDER BY session_uuid) FROM staging WHERE problem IS NULL GROUP BY id)`);
  }
}

/** The digests a changed-mode load takes out, as a temp table (an appender: there may be many). */
async function stageGone(db: WorkDb, gone: readonly string[]): Promise<void> {
  await db.run('CREATE OR REPLACE TEMP TABLE gone (digest VARCHAR NOT NULL)');
  if (gone.length === 0) return;
  const appender = await db.conn.createAppender('gone', 'main', 'temp');
  try {
    for (const digest of gone) {
      appender.appendVarchar(digest);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/**
 * The sessions a changed-mode load rewrites: those of the elements gone and those staged. A kept
 * element sharing an id with one of them is a repeated id the staged rows alone cannot settle.
 */
async function stageDirty(db: WorkDb): Promise<number> {
  await db.run(`
    CREATE OR REPLACE TEMP TABLE dirty AS
    SELECT session_id AS id FROM ${DIGESTS_TABLE} WHERE digest IN (SELECT digest FROM gone) AND session_id IS NOT NULL
    UNION
    SELECT id FROM staging WHERE problem IS NULL OR problem = 'duplicate id'`);
  const tangled = await db.value<number>(`
    SELECT count(DISTINCT session_id)::DOUBLE FROM ${DIGESTS_TABLE}
    WHERE session_id IN (SELECT id FROM dirty) AND digest NOT IN (SELECT digest FROM gone)`);
  const duplicated = await db.value<number>(`SELECT count(DISTINCT id)::DOUBLE FROM staging WHERE problem = 'duplicate id'`);
  return (tangled ?? 0) + (duplicated ?? 0);
}

async function insertSessions(db: WorkDb): Promise<void> {
  await db.run(`
    INSERT INTO ${BASE_SCHEMA}.sessions
    SELECT id, session_uuid, cwd, ${timestamp('started_at')}, ${timestamp('ended_at')},
           -- counts were staged as DOUBLE and checked to be whole and within MAX_COUNT: exact as BIGINT
           message_count::BIGINT, user_message_count::BIGINT, assistant_message_count::BIGINT, last_prompt, source_file,
           duration_ms::BIGINT, input_tokens::BIGINT, output_tokens::BIGINT, cache_read_tokens::BIGINT, cache_creation_tokens::BIGINT,
           parent_uuid, request_id, message_id, is_sidechain_count::BIGINT,
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
    -- Each count is whole and at most MAX_COUNT (staging): added as integers, not as DOUBLEs.
    SELECT id, tool_name, sum(counts.calls::BIGINT), sum(coalesce(counts.errors, 0)::BIGINT)
    FROM (SELECT id, unnest(map_keys(tool_map)) AS tool_name, unnest(map_values(tool_map)) AS counts FROM valid)
    WHERE counts.calls IS NOT NULL AND tool_name <> ''
    -- A key repeated inside one count string is added up: one row per (session, tool).
    GROUP BY id, tool_name`);
  await db.run(`
    INSERT INTO ${BASE_SCHEMA}.stop_reasons
    SELECT id, stop_reason, sum(count::BIGINT)
    FROM (SELECT id, unnest(map_keys(stop_map)) AS stop_reason, unnest(map_values(stop_map)) AS count FROM valid)
    WHERE count IS NOT NULL AND stop_reason <> ''
    GROUP BY id, stop_reason`);
  await db.run(`
    INSERT INTO ${BASE_SCHEMA}.session_models
    SELECT DISTINCT id, model
    FROM (SELECT id, unnest(models_used) AS model FROM valid)
    WHERE model IS NOT NULL AND model <> ''`);
}

/**
 * The staged digests the load remembered: not an unparsable line's (it has none), nor a row dated
 * in the future's (FUTURE_PROBLEM); both are staged again next time.
 */
async function stagedDigests(db: WorkDb, passed: readonly string[], staged: number): Promise<string[]> {
  const readable = (await db.value<number>(`SELECT count(digest)::DOUBLE FROM staging WHERE ${LASTING_PROBLEM}`)) ?? 0;
  if (readable === staged && readable === passed.length) return [...passed];
  const reader = await db.conn.runAndReadAll(`SELECT digest FROM staging WHERE digest IS NOT NULL AND ${LASTING_PROBLEM}`);
  return reader.getRowsJson().map(([d]) => String(d));
}

/**
 * Brings the base tables to the staged payload in one transaction, together with the ETag and
 * scan_version it came with: readers of the working database never see a half load, and a failed
 * load leaves the previous data and ETag in place.
 *
 * A full load replaces every row. A changed load deletes the sessions whose elements changed or
 * went, and inserts the staged ones: it writes in proportion to what changed. Either way the
 * element table ends up describing exactly the payload just loaded.
 */
export async function loadBaseTables<H = never>(
  db: WorkDb,
  payload: StagedPayload & { passed: readonly string[] },
  stamp: Omit<LoadStamp, 'sessionCount' | 'rejectedRows' | 'changed'>,
  /**
   * Called with the number of valid sessions before any table is touched (the shrink guard): it
   * holds the payload back, or lets the load go on with statements that commit with it.
   */
  vet?: (sessions: number) => Promise<Vetting<H>>,
): Promise<LoadOutcome<H>> {
  const full = payload.mode === 'full';
  try {
    await markDuplicates(db);
    if (!full) {
      await stageGone(db, payload.gone);
      const tangled = await stageDirty(db);
      if (tangled > 0) return needsFull(tangled);
    }
    const kept = full
      ? 0
      : ((await db.value<number>(`SELECT count(*)::DOUBLE FROM ${DIGESTS_TABLE} WHERE problem IS NULL AND digest NOT IN (SELECT digest FROM gone)`)) ?? 0);
    const fresh = (await db.value<number>(`SELECT count(*)::DOUBLE FROM staging WHERE problem IS NULL`)) ?? 0;
    const sessions = kept + fresh;
    if (payload.elements > 0 && sessions === 0) {
      // Every row failing is upstream speaking a different format, not bad rows: keep what is published.
      // The reasons of the elements kept from the loaded payload too: in a changed load they were not staged.
      const why = await db.rows<{ problem: string }>(`
        SELECT DISTINCT problem FROM (
          SELECT problem FROM staging
          UNION ALL SELECT problem FROM ${DIGESTS_TABLE} WHERE ${full ? 'false' : 'digest NOT IN (SELECT digest FROM gone)'})
        WHERE problem IS NOT NULL ORDER BY 1`);
      throw new PayloadShapeError(`none of its ${payload.elements} sessions could be read (${why.map((w) => w.problem).join(', ')})`);
    }
    // Before the tables are replaced: a payload held back costs no more than its staging.
    const vetting = (await vet?.(sessions)) ?? null;
    if (vetting && 'hold' in vetting) return { kind: 'held', hold: vetting.hold };
    const result = await db.transaction(async () => {
      await vetting?.commit();
      await db.run(`CREATE OR REPLACE TEMP VIEW valid AS SELECT * FROM staging WHERE problem IS NULL`);
      let removed = 0;
      if (full) {
        for (const table of BASE_TABLES) await db.run(`DELETE FROM ${BASE_SCHEMA}.${table}`);
        await db.run(`DELETE FROM ${DIGESTS_TABLE}`);
      } else {
        removed =
          (await db.value<number>(
            `SELECT count(*)::DOUBLE FROM ${BASE_SCHEMA}.sessions WHERE session_id IN (SELECT id FROM dirty) AND session_id NOT IN (SELECT id FROM valid)`,
          )) ?? 0;
        for (const table of BASE_TABLES) {
          await db.run(`DELETE FROM ${BASE_SCHEMA}.${table} WHERE session_id IN (SELECT id FROM dirty)`);
        }
        await db.run(`DELETE FROM ${DIGESTS_TABLE} WHERE digest IN (SELECT digest FROM gone)`);
      }
      await insertSessions(db);
      await db.run(`
        INSERT INTO ${DIGESTS_TABLE}
        SELECT DISTINCT ON (digest) digest, CASE WHEN problem IS NULL OR problem = 'duplicate id' THEN id END, problem
        FROM staging WHERE digest IS NOT NULL AND ${LASTING_PROBLEM}
        -- Byte-identical elements share a digest: the row recorded is the one loaded.
        ORDER BY digest, problem NULLS FIRST`);
      const rejectedBy: Record<string, number> = {};
      const problems = await db.rows<{ problem: string; n: number }>(`
        SELECT problem, count(*)::DOUBLE AS n FROM (
          SELECT problem FROM ${DIGESTS_TABLE} WHERE problem IS NOT NULL
          UNION ALL SELECT problem FROM staging WHERE (digest IS NULL OR NOT ${LASTING_PROBLEM}) AND problem IS NOT NULL)
        GROUP BY problem ORDER BY problem`);
      // A line DuckDB cannot parse is a row of NULLs (digest too): 'not a session object', staged
      // again each time; so is a row dated in the future, which is counted from staging too.
      for (const p of problems) rejectedBy[p.problem] = p.n;
      const rejected = Math.max(0, payload.elements - sessions);
      const changed = full || fresh > 0 || removed > 0;
      await recordLoad(db, { ...stamp, sessionCount: sessions, rejectedRows: rejected, changed });
      return { mode: payload.mode, staged: payload.staged, sessions, rejected, rejectedBy, written: fresh, removed, changed };
    });
    const added = await stagedDigests(db, payload.passed, payload.staged);
    return { kind: 'loaded', ...result, addedDigests: added };
  } finally {
    await dropStaging(db);
    for (const table of ['gone', 'dirty']) await db.run(`DROP TABLE IF EXISTS temp.${table}`);
    await db.run('DROP VIEW IF EXISTS temp.valid');
  }
}
