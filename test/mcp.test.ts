import { hasStrace, readHomeTrace, straceWrapper } from './helpers/strace.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { ProtocolError, type Client } from '@modelcontextprotocol/client';
import type { HealthResponse, ViewDescription, ViewListResponse, ViewRowsResponse } from '../src/reads/contract/api-types.js';
import type { FakeRecall } from './fake-recall/server.js';
import type { QueryResult } from '../src/reads/mcp/sql.js';
import type { StatusReport, ViewsReport } from '../src/cli/status-command.js';
import { eventually, runCli, tempHome, type TempHome } from './helpers/processes.js';
import { agent, get, publish, pull, startFake, startReads, type ReadsProcess } from './reads/fixtures.js';
import { call, connect, errorText, structured, toolError, type Mode } from './reads/mcp-client.js';
import { workersCpuSeconds } from './reads/workers.js';

/**
 * The MCP endpoint (issue 5) with the SDK's own client over real HTTP, against a real
 * `serve-reads` process over a home whose generations the real puller published.
 */

type QueryOutput = QueryResult;

const TOOLS = ['describe_view', 'lattice_status', 'list_views', 'query', 'read_view'];

/**
 * The zone the shared snapshot is pulled in: not UTC (the tests' default), so that a response that
 * named the default instead of the generation's zone would fail; half an hour off, and in its
 * summer on the fake's dates.
 */
const ZONE = 'Australia/Adelaide';

/** Drops every age_seconds (measured per response) so two answers of one generation compare equal. */
function withoutAge<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'age_seconds' ? undefined : v))) as T;
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: unknown; text: string }> {
  const res = await request(`${url}/mcp`, { method: 'POST', body, headers, dispatcher: agent });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, json, text };
}

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('MCP at /mcp', () => {
  let home: TempHome;
  let fake: FakeRecall;
  let reads: ReadsProcess;
  const clients: Client[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];

  async function client(mode: Mode = 'legacy'): Promise<Client> {
    const c = await connect(reads.url, mode);
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    home = await tempHome('lattice-mcp-');
    fake = await startFake(300);
    await pull(home.dir, fake, ['--timezone', ZONE]);
    reads = await startReads(home.dir);
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    await reads?.stop();
    await fake?.close();
    await home?.cleanup();
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it.each(['legacy', 'auto'] as const)('lists the five tools, each with a description and input and output schemas (%s era)', async (mode) => {
    const c = await client(mode);
    expect(c.getProtocolEra()).toBe(mode === 'legacy' ? 'legacy' : 'modern');
    const { tools } = await c.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    for (const tool of tools) {
      expect(tool.description?.length, tool.name).toBeGreaterThan(150);
      expect(tool.inputSchema.type, tool.name).toBe('object');
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(tool.annotations?.readOnlyHint, tool.name).toBe(true);
    }
    const query = tools.find((t) => t.name === 'query')!;
    expect(Object.keys(query.inputSchema.properties ?? {}).sort()).toEqual(['max_rows', 'sql', 'timeout_seconds']);
    const readView = tools.find((t) => t.name === 'read_view')!;
    expect(Object.keys(readView.inputSchema.properties ?? {}).sort()).toEqual(['after', 'columns', 'count', 'filters', 'limit', 'offset', 'order_by', 'view']);
    expect(readView.inputSchema.required).toEqual(['view']);
  });

  it('answers each tool as the HTTP routes do for the same generation', async () => {
    const c = await client();

    const catalog = structured<ViewListResponse>(await call(c, 'list_views'));
    const httpCatalog = (await get(`${reads.url}/views`)).json as ViewListResponse;
    expect(catalog.freshness.generation).toBe(1);
    expect(withoutAge(catalog)).toEqual(withoutAge(httpCatalog));
    expect(catalog.views.length).toBeGreaterThan(5);

    const described = structured<ViewDescription>(await call(c, 'describe_view', { view: 'tool_sessions' }));
    const { freshness, ...summary } = described;
    expect(summary).toEqual(httpCatalog.views.find((v) => v.name === 'tool_sessions'));
    expect(freshness.generation).toBe(1);
    expect(described.key_columns).toEqual(['tool_name']);

    // Every view, first page in its default order, and one page with every parameter.
    for (const view of catalog.views) {
      const mcp = structured<ViewRowsResponse>(await call(c, 'read_view', { view: view.name, limit: 3 }));
      const http = (await get(`${reads.url}/views/${view.name}?limit=3`)).json as ViewRowsResponse;
      expect(withoutAge(mcp), view.name).toEqual(withoutAge(http));
      expect(mcp.total, view.name).toBe(view.row_count);
    }
    const args = { view: 'tool_sessions', limit: 4, offset: 1, order_by: '-session_count', filters: { session_ids: 7 } };
    const page = structured<ViewRowsResponse>(await call(c, 'read_view', args));
    const httpPage = (await get(`${reads.url}/views/tool_sessions?limit=4&offset=1&order_by=-session_count&filter[session_ids]=7`)).json as ViewRowsResponse;
    expect(withoutAge(page)).toEqual(withoutAge(httpPage));
    expect(page.filters).toEqual([{ column: 'session_ids', op: 'eq', value: 7 }]);
    expect(page.rows.length).toBeGreaterThan(0);
    for (const row of page.rows) expect(row.session_ids).toContain(7);
    // order_by as an array is the same sort.
    const arrayOrder = structured<ViewRowsResponse>(await call(c, 'read_view', { ...args, order_by: ['-session_count'] }));
    expect(arrayOrder.rows).toEqual(page.rows);

    const status = structured<HealthResponse>(await call(c, 'lattice_status'));
    const health = (await get(`${reads.url}/healthz`)).json as HealthResponse;
    expect(withoutAge(status)).toEqual(withoutAge(health));
    expect(status.generation).toBe(1);
    expect(status.puller?.last_tick_outcome).toBe('published');

    // query: the same rows as the view route (BIGINTs as JSON numbers, lists as arrays).
    const all = (await get(`${reads.url}/views/tool_sessions?limit=10000`)).json as ViewRowsResponse;
    const q = structured<QueryOutput>(await call(c, 'query', { sql: 'SELECT * FROM main.tool_sessions ORDER BY tool_name' }));
    expect(q.rows).toEqual(all.rows);
    expect(q.columns).toEqual(all.columns);
    expect(q.truncated).toBe(false);
    expect(q.row_count).toBe(all.total);
    expect(q.freshness.generation).toBe(1);
    const count = structured<QueryOutput>(await call(c, 'query', { sql: 'SELECT count(*) AS n FROM base.sessions' }));
    expect(count.rows).toEqual([{ n: health.session_count }]);
    expect(count.columns).toEqual([{ name: 'n', type: 'BIGINT' }]);

    // The modern (2026-07-28) era answers the same.
    const modern = await client('auto');
    expect(withoutAge(structured<ViewRowsResponse>(await call(modern, 'read_view', args)))).toEqual(withoutAge(httpPage));
  });

  it('names the zone the generation was computed in everywhere: HTTP body and header, the catalog, /healthz, status, views and every MCP tool', async () => {
    const rows = await get(`${reads.url}/views/daily_activity?limit=2`);
    expect(rows.status).toBe(200);
    expect((rows.json as ViewRowsResponse).freshness.timezone).toBe(ZONE);
    expect(rows.headers['x-lattice-timezone']).toBe(ZONE);
    const csv = await get(`${reads.url}/views/daily_activity?limit=2&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers['x-lattice-timezone']).toBe(ZONE);
    const catalog = await get(`${reads.url}/views`);
    expect(catalog.status).toBe(200);
    expect((catalog.json as ViewListResponse).freshness.timezone).toBe(ZONE);
    expect(catalog.headers['x-lattice-timezone']).toBe(ZONE);
    const health = await get(`${reads.url}/healthz`);
    expect((health.json as HealthResponse).timezone).toBe(ZONE);

    const statusText = await runCli(['status', '--home', home.dir]);
    expect(statusText.stdout).toMatch(new RegExp(`\\btime zone\\s+${ZONE}\\n`));
    const statusJson = await runCli(['status', '--home', home.dir, '--json']);
    expect((JSON.parse(statusJson.stdout) as StatusReport).snapshot?.timezone).toBe(ZONE);
    const viewsText = await runCli(['views', '--home', home.dir]);
    expect(viewsText.stdout).toMatch(new RegExp(`^generation 1, published .*, days in ${ZONE}\\n`));
    const viewsJson = await runCli(['views', '--home', home.dir, '--json']);
    expect((JSON.parse(viewsJson.stdout) as ViewsReport).timezone).toBe(ZONE);

    const c = await client();
    expect(structured<ViewListResponse>(await call(c, 'list_views')).freshness.timezone).toBe(ZONE);
    expect(structured<ViewDescription>(await call(c, 'describe_view', { view: 'daily_activity' })).freshness.timezone).toBe(ZONE);
    expect(structured<ViewRowsResponse>(await call(c, 'read_view', { view: 'daily_activity', limit: 2 })).freshness.timezone).toBe(ZONE);
    expect(structured<HealthResponse>(await call(c, 'lattice_status')).timezone).toBe(ZONE);
    // The query tool's SQL sees the generation's zone too, as the views' SQL did (docs/views.md).
    const q = structured<QueryOutput>(await call(c, 'query', { sql: "SELECT getvariable('timezone') AS zone" }));
    expect(q.freshness.timezone).toBe(ZONE);
    expect(q.rows).toEqual([{ zone: ZONE }]);
  });

  it('turns bad arguments into tool errors an agent can act on', async () => {
    const c = await client();
    const unknown = errorText(await call(c, 'describe_view', { view: 'tool_sesions' }));
    expect(unknown).toMatch(/unknown view "tool_sesions"; known views: .*tool_sessions/);
    // A program reads the registry's code (docs/errors.md) beside the text, as an HTTP body has it.
    expect(toolError(await call(c, 'describe_view', { view: 'tool_sesions' }))).toEqual({ code: 'unknown_view', message: unknown });
    expect(toolError(await call(c, 'read_view', { view: 'tool_sessions', limit: 5, order_by: '-bogus' }))).toMatchObject({
      code: 'bad_parameter',
      parameter: 'order_by',
    });
    expect(errorText(await call(c, 'read_view', { view: 'nope' }))).toMatch(/known views: .*tool_sessions/);
    const badOrder = errorText(await call(c, 'read_view', { view: 'tool_sessions', order_by: '-bogus' }));
    expect(badOrder).toMatch(/order_by: unknown column "bogus" in view tool_sessions; columns: tool_name, session_count, session_ids/);
    const badFilter = errorText(await call(c, 'read_view', { view: 'tool_sessions', filters: { "tool_name' OR 1=1 --": 'x' } }));
    expect(badFilter).toMatch(/filters\.tool_name' OR 1=1 --: unknown column .*columns: tool_name, session_count, session_ids/);
    expect(errorText(await call(c, 'read_view', { view: 'tool_sessions', filters: { session_count: 'many' } }))).toMatch(
      /filters\.session_count: column type BIGINT expects an integer like 42, got "many"/,
    );
    // SQL in a filter value is a value, not SQL.
    const injected = structured<ViewRowsResponse>(await call(c, 'read_view', { view: 'tool_sessions', filters: { tool_name: "x' OR '1'='1" } }));
    expect(injected.total).toBe(0);
    // Wrong argument types and out-of-range values: the SDK's input validation, as a tool error naming the argument.
    expect(errorText(await call(c, 'read_view', { view: 'tool_sessions', limit: 'abc' }))).toMatch(/Input validation error.*limit/s);
    expect(errorText(await call(c, 'read_view', { view: 'tool_sessions', limit: 10_001 }))).toMatch(/Input validation error.*limit/s);
    expect(errorText(await call(c, 'describe_view', {}))).toMatch(/Input validation error.*view/s);
    expect(errorText(await call(c, 'query', { sql: 'SELECT 1', max_rows: 0 }))).toMatch(/Input validation error.*max_rows/s);
    expect(errorText(await call(c, 'query', { sql: 'SELECT 1', timeout_seconds: 31 }))).toMatch(/Input validation error.*timeout_seconds/s);
    // An unknown tool is a protocol error (-32602), not a crash.
    const err = await call(c, 'drop_everything').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe(-32602);
    expect((err as Error).message).toMatch(/drop_everything/);
    // Still answering.
    expect(structured<ViewDescription>(await call(c, 'describe_view', { view: 'tool_sessions' })).name).toBe('tool_sessions');
  });

  it('refuses every escape from the query sandbox with a clear error, and keeps answering', async () => {
    const c = await client();
    const outside = join(home.dir, '..', `${home.dir.split('/').pop()}-escape`);
    const fileDenied = /query failed: Permission Error: File system LocalFileSystem has been disabled by configuration/;
    const cases: Array<[string, RegExp]> = [
      ["SELECT * FROM read_csv('/etc/passwd')", fileDenied],
      ["SELECT * FROM read_csv_auto('/etc/passwd')", fileDenied],
      ["SELECT * FROM read_text('/etc/passwd')", fileDenied],
      ["SELECT * FROM read_blob('/etc/passwd')", fileDenied],
      ["SELECT * FROM read_json('/etc/passwd')", fileDenied],
      ["SELECT * FROM read_parquet('/etc/passwd')", fileDenied],
      ["SELECT * FROM sniff_csv('/etc/passwd')", fileDenied],
      ["SELECT * FROM glob('/*')", fileDenied],
      // The snapshot's own file too (DuckDB keeps it readable with external access off; the local file system is off).
      [`SELECT * FROM read_csv('${home.dir}/session-lattice.duckdb')`, fileDenied],
      [`SELECT * FROM read_blob('${home.dir}/session-lattice.duckdb')`, fileDenied],
      [`SELECT * FROM read_text('${home.dir}/puller/status.json')`, fileDenied],
      ["SELECT * FROM 'https://example.com/x.csv'", fileDenied],
      ["SELECT * FROM query('COPY (SELECT 1) TO ''/tmp/x.csv''')", /query failed: .*single SELECT/],
      [`COPY (SELECT 1) TO '${outside}.csv'`, /query refused: the statement \(COPY \.\.\.\) is not a plain SELECT/],
      [`COPY base.sessions TO '${outside}.parquet' (FORMAT parquet)`, /\(COPY \.\.\.\)/],
      // The one path DuckDB itself would let a COPY write to (its allowed_paths): refused by the SELECT-only rule.
      [`COPY (SELECT 1) TO '${home.dir}/session-lattice.duckdb.wal' (FORMAT csv)`, /\(COPY \.\.\.\)/],
      [`ATTACH '${outside}.duckdb' AS x`, /\(ATTACH \.\.\.\)/],
      ['DETACH base', /\(DETACH \.\.\.\)/],
      ['INSTALL httpfs', /\(INSTALL \.\.\.\)/],
      ['LOAD json', /\(LOAD \.\.\.\)/],
      ['SET threads = 1', /\(SET \.\.\.\)/],
      ['RESET threads', /\(RESET \.\.\.\)/],
      ['SET enable_external_access = true', /\(SET \.\.\.\)/],
      ['PRAGMA version', /\(PRAGMA \.\.\.\)/],
      ["PRAGMA table_info('base.sessions')", /\(PRAGMA \.\.\.\)/],
      ['CALL pragma_version()', /\(CALL \.\.\.\)/],
      ['CREATE TABLE t(x INT)', /\(CREATE \.\.\.\)/],
      ['CREATE MACRO m(x) AS x + 1', /\(CREATE \.\.\.\)/],
      ['INSERT INTO base.sessions (session_id) VALUES (1)', /\(INSERT \.\.\.\)/],
      ["UPDATE base.sessions SET cwd = 'x'", /\(UPDATE \.\.\.\)/],
      ['DELETE FROM base.sessions', /\(DELETE \.\.\.\)/],
      ['DROP TABLE base.sessions', /\(DROP \.\.\.\)/],
      [`EXPORT DATABASE '${outside}-export'`, /\(EXPORT \.\.\.\)/],
      ['USE base', /\(USE \.\.\.\)/],
      ['BEGIN TRANSACTION', /\(BEGIN \.\.\.\)/],
      ['CHECKPOINT', /\(CHECKPOINT \.\.\.\)/],
      ['EXPLAIN SELECT 1', /\(EXPLAIN \.\.\.\)/],
      ['/* hidden */ SET threads = 1', /\(SET \.\.\.\)/],
      ['SELECT 1; SELECT 2', /query refused: the text holds 2 statements/],
      ['SELECT 1; DROP TABLE base.sessions', /query refused: the text holds 2 statements/],
      ['SELECT 1 AS x) AS q; DROP TABLE base.sessions; SELECT * FROM (SELECT 1', /query failed: Parser Error/],
      ['SELECT 1) UNION ALL (SELECT 2', /query failed: Parser Error/],
      ['   ', /query refused: the sql is empty/],
      ['-- just a comment', /query refused: the text holds no SQL statement/],
      ['SELECT * FROM no_such_table', /query failed: Catalog Error.*information_schema\.columns/],
    ];
    const failures: string[] = [];
    for (const [sql, expected] of cases) {
      const result = await call(c, 'query', { sql });
      const text = result.isError ? errorText(result) : `(not an error) ${JSON.stringify(result.structuredContent).slice(0, 200)}`;
      if (!expected.test(text)) failures.push(`${sql}\n  -> ${text}`);
      // Its code says the same as its words: refused before it ran, or failed in DuckDB.
      const code = result.isError ? toolError(result).code : null;
      const expectedCode = text.startsWith('query refused:') ? 'query_refused' : text.startsWith('query failed:') ? 'query_failed' : code;
      if (code !== expectedCode) failures.push(`${sql}: code ${code}, expected ${expectedCode}`);
      // The server answers a good call right after each refusal.
      const good = structured<QueryOutput>(await call(c, 'query', { sql: 'SELECT 42 AS answer' }));
      if (good.rows[0]?.answer !== 42) failures.push(`${sql}: the next good call answered ${JSON.stringify(good)}`);
    }
    expect(failures).toEqual([]);

    // Nothing was written, created or changed.
    for (const suffix of ['.csv', '.parquet', '.duckdb', '-export']) expect(existsSync(`${outside}${suffix}`), suffix).toBe(false);
    expect(existsSync(join(home.dir, 'session-lattice.duckdb.wal'))).toBe(false);
    const after = structured<QueryOutput>(
      await call(c, 'query', {
        sql: "SELECT (SELECT count(*) FROM base.sessions) AS sessions, current_setting('enable_external_access') AS external, current_setting('lock_configuration') AS locked, current_setting('autoload_known_extensions') AS autoload, current_setting('autoinstall_known_extensions') AS autoinstall",
      }),
    );
    const health = (await get(`${reads.url}/healthz`)).json as HealthResponse;
    expect(after.rows).toEqual([{ sessions: health.session_count, external: false, locked: true, autoload: false, autoinstall: false }]);

    // What the sandbox accepts: the forms of SELECT, a trailing semicolon or comment.
    for (const sql of [
      'WITH t AS (SELECT 1 AS x) SELECT x FROM t',
      'FROM base.sessions SELECT count(*) AS x',
      'VALUES (1)',
      'SELECT 1 AS x;',
      'SELECT 1 AS x -- trailing comment',
      'DESCRIBE base.sessions',
      'SUMMARIZE main.tool_sessions',
      'SHOW TABLES',
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'base'",
    ]) {
      const r = await call(c, 'query', { sql });
      expect(r.isError ? errorText(r) : 'ok', sql).toBe('ok');
    }
  });

  it('stops a runaway query at its time limit, reports it, and the HTTP routes keep answering meanwhile', async () => {
    const c = await client();
    const runaway = 'SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = -1';

    /**
     * Probes an HTTP route while `work` runs: counts the probes that started once the query was
     * running in a query worker (the workers had burnt half a CPU-second more than when the call
     * was made) and were answered before the call returned. Events, not the clock: on a busy machine
     * everything is slower, but the probes must still get through while the query runs.
     */
    async function probeWhile<T>(path: string, work: () => Promise<T>): Promise<{ result: T; probes: number; failures: string[] }> {
      const cpuBefore = workersCpuSeconds(reads.pid);
      let returned = false;
      const pending = work().finally(() => {
        returned = true;
      });
      const running = () => workersCpuSeconds(reads.pid) - cpuBefore >= 0.5;
      await eventually(() => (returned || running() ? true : undefined), 'the query to be running');
      let probes = 0;
      const failures: string[] = [];
      const probing = (async () => {
        while (!returned) {
          const res = await get(`${reads.url}${path}`).catch((err: unknown) => ({ status: 0, text: String(err) }));
          if (res.status !== 200) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
          else if (!returned) probes++;
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const result = await pending;
      await probing;
      return { result, probes, failures };
    }

    // The default limit: 5 s.
    const t0 = performance.now();
    const single = await probeWhile('/views/tool_sessions?limit=5&order_by=-session_count', () => call(c, 'query', { sql: runaway }));
    // A lower bound only: the query ran until its limit (load can only make it later).
    expect(performance.now() - t0).toBeGreaterThan(4900);
    expect(toolError(single.result).code).toBe('timeout');
    expect(errorText(single.result)).toMatch(
      /did not finish within 5000 ms and was stopped \(its worker process was killed and replaced\); narrow the query .* raise timeout_seconds \(at most 30\)/,
    );
    expect(single.failures).toEqual([]);
    expect(single.probes).toBeGreaterThanOrEqual(3);

    // Several runaway queries at once (shorter limit) queue for the two workers; the HTTP routes keep
    // answering. 2 s each, two at a time: a 4 s window, of which a loaded machine may spend a good
    // part before the workers show they are running (1 s each left too few probes at load 14).
    const t1 = performance.now();
    const several = await probeWhile('/views/tool_sessions?limit=5&offset=1', () =>
      Promise.all([1, 2, 3, 4].map(() => call(c, 'query', { sql: runaway, timeout_seconds: 2 }))),
    );
    for (const r of several.result) expect(errorText(r)).toMatch(/did not finish within 2000 ms and was stopped/);
    expect(performance.now() - t1).toBeGreaterThan(3900); // two at a time
    expect(several.failures).toEqual([]);
    expect(several.probes).toBeGreaterThanOrEqual(3);

    // And the server still answers, on the workers that replaced the stopped ones.
    for (let i = 0; i < 5; i++) expect(structured<QueryOutput>(await call(c, 'query', { sql: 'SELECT 7 AS x' })).rows).toEqual([{ x: 7 }]);
    expect(reads.daemon.running).toBe(true);
  });

  it('caps a result of millions of rows (and of too many bytes) and says it is truncated', async () => {
    const c = await client();
    const big = structured<QueryOutput>(await call(c, 'query', { sql: 'SELECT * FROM range(5000000) r(n)' }));
    expect(big).toMatchObject({ row_count: 1000, truncated: true, truncated_reason: 'max_rows', max_rows: 1000 });
    expect(big.rows.length).toBe(1000);
    expect(big.rows[999]).toEqual({ n: 999 });
    // The cap stops the query itself, not just the answer: a quadrillion rows could not be produced
    // within the longest time limit on any machine, yet the first thousand come back.
    const endless = structured<QueryOutput>(await call(c, 'query', { sql: 'SELECT * FROM range(1000000000000000) r(n)', timeout_seconds: 30 }));
    expect(endless).toMatchObject({ row_count: 1000, truncated: true, truncated_reason: 'max_rows' });

    const cross = structured<QueryOutput>(
      await call(c, 'query', { sql: 'SELECT a.range AS a, b.range AS b FROM range(3000) a, range(3000) b', max_rows: 10_000 }),
    );
    expect(cross).toMatchObject({ row_count: 10_000, truncated: true, truncated_reason: 'max_rows' });

    const exact = structured<QueryOutput>(await call(c, 'query', { sql: 'SELECT * FROM range(10) r(n)', max_rows: 10 }));
    expect(exact).toMatchObject({ row_count: 10, truncated: false, truncated_reason: null });

    // 20 MB of text (a query worker's DuckDB needs about ten times that to render it as JSON in one chunk).
    const wide = structured<QueryOutput>(await call(c, 'query', { sql: "SELECT repeat('x', 1000000) AS s FROM range(20)" }));
    expect(wide.truncated).toBe(true);
    expect(wide.truncated_reason).toBe('max_bytes');
    expect(wide.row_count).toBeGreaterThan(0);
    expect(wide.row_count).toBeLessThan(10);

    // Values a JSON client can use: integers as numbers, NaN/Infinity as null, nested types as JSON.
    const values = structured<QueryOutput>(
      await call(c, 'query', {
        sql: "SELECT 9007199254740991::BIGINT AS big, 'nan'::DOUBLE AS nan, 'inf'::DOUBLE AS inf, [1, 2] AS list, {'a': 1} AS struct, DATE '2026-01-31' AS day, 1 AS dup, 2 AS dup",
      }),
    );
    expect(values.rows).toEqual([{ big: 9007199254740991, nan: null, inf: null, list: [1, 2], struct: { a: 1 }, day: '2026-01-31', dup: 1, dup_1: 2 }]);
    expect(values.columns.map((col) => col.type)).toEqual(['BIGINT', 'DOUBLE', 'DOUBLE', 'INTEGER[]', 'STRUCT("a" INTEGER)', 'DATE', 'INTEGER', 'INTEGER']);
  });

  it('answers malformed JSON-RPC, wrong methods and content types and foreign Host/Origin with the protocol errors, never a 500', async () => {
    const malformed = await post(reads.url, '{"jsonrpc": "2.0", "method": ', MCP_HEADERS);
    expect(malformed.status).toBe(400);
    expect(malformed.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 }, id: null });

    const notRpc = await post(reads.url, '{"hello": "world"}', MCP_HEADERS);
    expect(notRpc.status).toBe(400);
    expect(notRpc.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });

    const wrongType = await post(reads.url, 'SELECT 1', { ...MCP_HEADERS, 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });

    const tooBig = await post(reads.url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(2 * 1024 * 1024) } }), MCP_HEADERS);
    expect(tooBig.status).toBe(413);
    expect(tooBig.json).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringMatching(/too large/i) } });

    // A stateless tools/call without a prior initialize is answered too (no session to lose).
    const direct = await post(
      reads.url,
      JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'query', arguments: { sql: 'SELECT 1 AS one' } } }),
      MCP_HEADERS,
    );
    expect(direct.status).toBe(200);
    expect(direct.text).toMatch(/\\"one\\":1/);

    const unknownMethod = await post(reads.url, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tables/drop' }), MCP_HEADERS);
    expect(unknownMethod.status).toBeLessThan(500);
    expect(unknownMethod.text).toMatch(/-32601/);

    for (const method of ['GET', 'DELETE', 'PUT']) {
      const res = await get(`${reads.url}/mcp`, { accept: 'application/json, text/event-stream' }, method);
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('POST');
      expect(res.json, method).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/POST/) }, id: null });
    }

    const init = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    });
    const origin = await post(reads.url, init, { ...MCP_HEADERS, origin: 'http://evil.example' });
    expect(origin.status).toBe(403);
    expect(origin.json).toMatchObject({ error: { message: expect.stringMatching(/Origin "http:\/\/evil\.example" is not allowed/) } });
    const host = await post(reads.url, init, { ...MCP_HEADERS, host: 'evil.example:7778' });
    expect(host.status).toBe(403);
    expect(host.json).toMatchObject({ error: { message: expect.stringMatching(/Host "evil\.example:7778" is not allowed/) } });
    const rebinding = await post(reads.url, init, { ...MCP_HEADERS, host: 'localhost.evil.example' });
    expect(rebinding.status).toBe(403);
    // A loopback Origin is fine.
    const local = await post(reads.url, init, { ...MCP_HEADERS, origin: 'http://localhost:3000' });
    expect(local.status).toBe(200);

    expect((await get(`${reads.url}/healthz`)).status).toBe(200);
  });

  it('keeps concurrent clients apart: a fresh server per request, every answer to its own caller', async () => {
    const a = await client();
    const b = await client('auto');
    const views = ['tool_sessions', 'model_sessions', 'repo_sessions', 'daily_activity'];
    const calls = Array.from({ length: 40 }, (_, i) => {
      const view = views[i % views.length]!;
      const c = i % 2 === 0 ? a : b;
      return call(c, 'describe_view', { view }).then((r) => ({ view, got: structured<ViewDescription>(r).name }));
    });
    const results = await Promise.all(calls);
    for (const r of results) expect(r.got).toBe(r.view);
    const queries = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        call(i % 2 ? a : b, 'query', { sql: `SELECT ${i} AS i` }).then((r) => ({ i, rows: structured<QueryOutput>(r).rows })),
      ),
    );
    for (const q of queries) expect(q.rows).toEqual([{ i: q.i }]);
  });

  it('before the first snapshot: lattice_status says starting, the data tools say "no snapshot yet"', async () => {
    const empty = await tempHome('lattice-mcp-empty-');
    cleanups.push(() => empty.cleanup());
    const r = await startReads(empty.dir);
    cleanups.push(() => r.stop());
    const c = await connect(r.url);
    cleanups.push(() => c.close());
    const status = structured<HealthResponse>(await call(c, 'lattice_status'));
    expect(status.status).toBe('starting');
    expect(status.generation).toBeNull();
    for (const [tool, args] of [
      ['list_views', {}],
      ['describe_view', { view: 'tool_sessions' }],
      ['read_view', { view: 'tool_sessions' }],
      ['query', { sql: 'SELECT 1' }],
    ] as const) {
      const error = toolError(await call(c, tool, args));
      expect(error.code, tool).toBe('no_snapshot');
      expect(error.message, tool).toMatch(/no snapshot yet.*no puller has run on this home: start one \(session-lattice serve-puller.*lattice_status/);
    }
    // Then it serves the first generation without a restart.
    await pull(empty.dir, fake);
    const catalog = await eventually(async () => {
      const res = await call(c, 'list_views');
      return res.isError ? undefined : structured<ViewListResponse>(res);
    }, 'the first generation over MCP');
    expect(catalog.freshness.generation).toBe(1);
  });

  it('writes nothing under the home while the MCP tools run (strace), across generation switches', async (ctx) => {
    if (!hasStrace()) ctx.skip(true, 'strace is not installed (.ci/run installs it)');
    const h = await tempHome('lattice-mcp-strace-');
    cleanups.push(() => h.cleanup());
    const f = await startFake(150);
    cleanups.push(() => f.close());
    await pull(h.dir, f);
    const trace = join(h.dir, '..', `${h.dir.split('/').pop()}.strace`);
    cleanups.push(() => rm(trace, { force: true }));
    const r = await startReads(h.dir, straceWrapper(trace));
    cleanups.push(() => r.stop());
    const c = await connect(r.url);
    cleanups.push(() => c.close());

    const generations = new Set<number>();
    const exercise = async () => {
      const catalog = structured<ViewListResponse>(await call(c, 'list_views'));
      generations.add(catalog.freshness.generation);
      structured(await call(c, 'describe_view', { view: 'tool_sessions' }));
      const rows = structured<ViewRowsResponse>(
        await call(c, 'read_view', { view: 'tool_sessions', limit: 5, order_by: '-session_count', filters: { session_ids: 7 } }),
      );
      expect(rows.freshness.generation).toBe(catalog.freshness.generation);
      structured(await call(c, 'lattice_status'));
      structured(await call(c, 'query', { sql: 'SELECT tool_name, count(*) AS n FROM base.tool_calls GROUP BY ALL ORDER BY n DESC' }));
      structured(await call(c, 'query', { sql: 'SELECT * FROM range(100000) ORDER BY random()', max_rows: 10_000 }));
      // Escapes aimed at the home itself.
      for (const sql of [
        `COPY (SELECT 1) TO '${h.dir}/escape.csv'`,
        `COPY (SELECT 1) TO '${h.dir}/session-lattice.duckdb.wal' (FORMAT csv)`,
        `ATTACH '${h.dir}/escape.duckdb' AS e`,
        `SELECT * FROM read_csv('${h.dir}/puller/status.json')`,
        `EXPORT DATABASE '${h.dir}/export'`,
        'CHECKPOINT',
      ]) {
        errorText(await call(c, 'query', { sql }));
      }
      errorText(await call(c, 'query', { sql: 'SELECT count(*) FROM range(1000000) a, range(1000000) b', timeout_seconds: 0.5 }));
    };
    await exercise();
    for (let i = 0; i < 2; i++) {
      await publish(h.dir, f, 150 + (i + 1) * 10, i + 2);
      const want = i + 2;
      await eventually(async () => {
        const s = structured<HealthResponse>(await call(c, 'lattice_status'));
        return s.generation === want ? true : undefined;
      }, `generation ${want}`);
      await exercise();
    }
    expect([...generations].sort()).toEqual([1, 2, 3]);
    await c.close();
    await r.stop();

    const traced = await readHomeTrace(trace, h.dir);
    expect(traced.opensOfPublished.length).toBeGreaterThanOrEqual(3);
    expect(traced.writes, 'no open for writing under the home').toEqual([]);
    expect(traced.mutations, 'no rename, unlink or mkdir under the home').toEqual([]);
    expect(traced.relativeWrites, 'no write or mutation through a relative path (the query workers are traced too)').toEqual([]);
    // The query workers were traced: they opened the published file too (each a process of its own).
    const openers = new Set(traced.opensOfPublished.map((l) => l.split(' ')[0]));
    expect(openers.size, 'processes that opened the published file: the server and its query workers').toBeGreaterThanOrEqual(2);
    for (const name of ['escape.csv', 'escape.duckdb', 'export']) expect(existsSync(join(h.dir, name)), name).toBe(false);
    // The escapes never reached the file system at all.
    expect(traced.lines.filter((l) => /escape\.(csv|duckdb)|\/export"/.test(l))).toEqual([]);
  }, 120_000);
});
