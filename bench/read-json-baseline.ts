import { DuckDBInstance } from '@duckdb/node-api';

/**
 * The baseline the puller benchmark compares against, run as its own process so its peak RSS is
 * its own: DuckDB's read_json with explicit columns loading the whole payload from a file.
 */
const SESSION = `STRUCT(id BIGINT, session_uuid VARCHAR, cwd VARCHAR, started_at BIGINT, ended_at BIGINT,
  message_count BIGINT, user_message_count BIGINT, assistant_message_count BIGINT, last_prompt VARCHAR,
  source_file VARCHAR, duration_ms BIGINT, input_tokens BIGINT, output_tokens BIGINT, cache_read_tokens BIGINT,
  cache_creation_tokens BIGINT, parent_uuid VARCHAR, request_id VARCHAR, message_id VARCHAR,
  is_sidechain_count BIGINT, models_used VARCHAR[], tools_used VARCHAR[], tool_call_counts_json VARCHAR,
  stop_reason_counts_json VARCHAR)`.replace(/\s+/g, ' ');

const [file, dbPath] = process.argv.slice(2);
if (!file || !dbPath) throw new Error('usage: read-json-baseline <payload.json> <db file>');
const instance = await DuckDBInstance.create(dbPath);
const conn = await instance.connect();
const t0 = performance.now();
await conn.run(`
  CREATE TABLE sessions AS
  SELECT unnest(sessions, recursive := false) AS e
  FROM read_json('${file.replace(/'/g, "''")}', maximum_object_size = 2147483647,
                 columns = {sessions: 'STRUCT(session ${SESSION}, repos JSON[])[]', generated_at: 'BIGINT', scan_version: 'BIGINT'})`);
const ms = performance.now() - t0;
const rows = (await conn.runAndReadAll('SELECT count(*)::DOUBLE FROM sessions')).getRowsJson()[0]?.[0];
conn.disconnectSync();
instance.closeSync();
process.stdout.write(`${JSON.stringify({ ms, rows, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
