import { BASE_SCHEMA } from './snapshot.js';

/**
 * The base tables the puller loads from upstream and every view is computed from. They are part
 * of each published file (schema `base`), so ad-hoc SQL can reach them too.
 *
 * Timestamps are UTC `TIMESTAMP`s converted from upstream's unix seconds; everything else keeps
 * upstream's names. Tool and stop-reason names keep upstream's spelling exactly (`Bash` and
 * `bash` are different tools).
 *
 * How upstream's values are read: a field of the wrong type becomes NULL, and a session missing a
 * required field (the NOT NULL columns below) is rejected and counted. So is a session with a
 * number that cannot be true (src/puller/staging.ts, PROBLEMS): any count (tokens, messages,
 * duration_ms, a count in the count strings) negative, above 10^12 or with a fraction, an end
 * before its start, a timestamp before 2023 or more than a day past the puller's clock. The bound
 * keeps every count here far inside BIGINT, so the views can add a session's four token counts in
 * BIGINT and sum over sessions in HUGEINT without overflow. In the count strings, a number written
 * as text is read (`"7"` -> 7); `""` means no entries; a string that is not a JSON object of the
 * documented shape (`"{"`, `"null"`, `"[]"`, a non-numeric count) is unreadable: the session is
 * kept, its `*_ok` flag is false, and what could be read is kept. A key repeated inside one count
 * string is added up, so tool_calls and stop_reasons hold one row per (session, name).
 */
export const BASE_DDL = [
  `CREATE SCHEMA IF NOT EXISTS ${BASE_SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${BASE_SCHEMA}.sessions (
     session_id BIGINT NOT NULL,
     session_uuid VARCHAR NOT NULL,
     cwd VARCHAR,
     started_at TIMESTAMP,
     ended_at TIMESTAMP,
     message_count BIGINT NOT NULL,
     user_message_count BIGINT NOT NULL,
     assistant_message_count BIGINT NOT NULL,
     last_prompt VARCHAR,
     source_file VARCHAR NOT NULL,
     duration_ms BIGINT,
     input_tokens BIGINT NOT NULL,
     output_tokens BIGINT NOT NULL,
     cache_read_tokens BIGINT NOT NULL,
     cache_creation_tokens BIGINT NOT NULL,
     parent_uuid VARCHAR,
     request_id VARCHAR,
     message_id VARCHAR,
     is_sidechain_count BIGINT NOT NULL,
     models_used VARCHAR[] NOT NULL,
     tools_used VARCHAR[] NOT NULL,
     -- false when upstream's tool_call_counts_json / stop_reason_counts_json could not be read
     -- (empty strings count as readable and empty)
     tool_counts_ok BOOLEAN NOT NULL,
     stop_reasons_ok BOOLEAN NOT NULL
   )`,
  // A session may belong to no repo, or to several.
  `CREATE TABLE IF NOT EXISTS ${BASE_SCHEMA}.session_repos (
     session_id BIGINT NOT NULL,
     repo_id BIGINT NOT NULL,
     repo_name VARCHAR,
     repo_path VARCHAR
   )`,
  // Exploded from tool_call_counts_json: one row per (session, tool).
  `CREATE TABLE IF NOT EXISTS ${BASE_SCHEMA}.tool_calls (
     session_id BIGINT NOT NULL,
     tool_name VARCHAR NOT NULL,
     calls BIGINT NOT NULL,
     errors BIGINT NOT NULL
   )`,
  // Exploded from stop_reason_counts_json: one row per (session, stop reason).
  `CREATE TABLE IF NOT EXISTS ${BASE_SCHEMA}.stop_reasons (
     session_id BIGINT NOT NULL,
     stop_reason VARCHAR NOT NULL,
     count BIGINT NOT NULL
   )`,
  // Exploded from models_used: one row per (session, model).
  `CREATE TABLE IF NOT EXISTS ${BASE_SCHEMA}.session_models (
     session_id BIGINT NOT NULL,
     model VARCHAR NOT NULL
   )`,
  // Not from upstream: read from Claude Code's transcripts (src/puller/transcripts/), one row per
  // API response, never removed because its file went away. Usage metadata only: no prompt,
  // response or tool text is ever stored. session_uuid is the line's sessionId, which joins
  // base.sessions.session_uuid (base.sessions.session_id is repo-recall's numeric id).
  `CREATE TABLE IF NOT EXISTS ${BASE_SCHEMA}.messages (
     -- what tells responses apart (unique): message.id + requestId, message.id alone without a
     -- requestId, or the file and byte offset of a line with no message.id
     message_key VARCHAR NOT NULL,
     session_uuid VARCHAR NOT NULL,
     message_id VARCHAR,
     request_id VARCHAR,
     agent_id VARCHAR,
     is_sidechain BOOLEAN NOT NULL,
     -- UTC, of the response's first line
     timestamp TIMESTAMP NOT NULL,
     model VARCHAR,
     -- the response's final usage: the line with the largest output_tokens
     input_tokens BIGINT NOT NULL,
     output_tokens BIGINT NOT NULL,
     cache_creation_5m_tokens BIGINT NOT NULL,
     cache_creation_1h_tokens BIGINT NOT NULL,
     cache_read_tokens BIGINT NOT NULL,
     service_tier VARCHAR,
     cwd VARCHAR,
     -- the transcript the kept line came from
     source_file VARCHAR NOT NULL
   )`,
  // Not from upstream: the bundled price table (data/model-prices.json) with the pricing file's
  // overrides, one row per model id (dated ids and aliases alike), in USD per million tokens.
  `CREATE TABLE IF NOT EXISTS ${BASE_SCHEMA}.model_prices (
     model VARCHAR NOT NULL,
     -- the dated id an alias stands for (the id itself for a dated id)
     canonical_model VARCHAR NOT NULL,
     input_usd_per_mtok DOUBLE NOT NULL,
     output_usd_per_mtok DOUBLE NOT NULL,
     -- the 5-minute cache-write rate
     cache_write_usd_per_mtok DOUBLE NOT NULL,
     cache_read_usd_per_mtok DOUBLE NOT NULL,
     -- when the price took effect, and where it comes from (a URL, or the pricing file)
     price_date DATE NOT NULL,
     source VARCHAR NOT NULL,
     from_pricing_file BOOLEAN NOT NULL
   )`,
  // Added after the first release, so a working database made before them gains them here (the
  // puller rewrites every row when the table's contents change, which they do with these columns).
  // The 1-hour cache-write rate (never NULL once written: 2x input unless the table says otherwise).
  `ALTER TABLE ${BASE_SCHEMA}.model_prices ADD COLUMN IF NOT EXISTS cache_write_1h_usd_per_mtok DOUBLE`,
  // Long-context rates, all NULL for a model without them: a request whose input side (input + both
  // cache writes + cache reads) is over long_context_threshold_tokens has ALL its tokens priced at
  // the long_* rates.
  `ALTER TABLE ${BASE_SCHEMA}.model_prices ADD COLUMN IF NOT EXISTS long_context_threshold_tokens BIGINT`,
  `ALTER TABLE ${BASE_SCHEMA}.model_prices ADD COLUMN IF NOT EXISTS long_input_usd_per_mtok DOUBLE`,
  `ALTER TABLE ${BASE_SCHEMA}.model_prices ADD COLUMN IF NOT EXISTS long_output_usd_per_mtok DOUBLE`,
  `ALTER TABLE ${BASE_SCHEMA}.model_prices ADD COLUMN IF NOT EXISTS long_cache_write_usd_per_mtok DOUBLE`,
  `ALTER TABLE ${BASE_SCHEMA}.model_prices ADD COLUMN IF NOT EXISTS long_cache_write_1h_usd_per_mtok DOUBLE`,
  `ALTER TABLE ${BASE_SCHEMA}.model_prices ADD COLUMN IF NOT EXISTS long_cache_read_usd_per_mtok DOUBLE`,
];

/** The tables each load from repo-recall replaces (model_prices is the puller's own, kept across loads; messages come from the transcripts). */
export const BASE_TABLES = ['sessions', 'session_repos', 'tool_calls', 'stop_reasons', 'session_models'] as const;
