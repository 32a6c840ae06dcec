import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import type { FakeRecall } from './fake-recall/server.js';
import { tempHome, type TempHome } from './helpers/processes.js';
import type { ErrorResponse, ViewRowsResponse } from '../src/reads/contract/api-types.js';
import { get, pull, startFake, startReads, type ReadsProcess } from './reads/fixtures.js';
import { call, connect, errorText } from './reads/mcp-client.js';

/**
 * The bad requests of the richer read API (operators, columns, cursors, count), each a 4xx JSON
 * body that names the parameter and the problem, against a real `serve-reads` over real HTTP and
 * the SDK's MCP client. The older cases (limit, order_by, exact filters, routes, Host) are in
 * reads-http.test.ts.
 */

let home: TempHome;
let fake: FakeRecall;
let reads: ReadsProcess;
/** A cursor of session_facts ordered by -cost_usd (foreign to other queries). */
let costCursor: string;
/** A cursor of session_facts in key order, and the same cursor's payload. */
let keyCursor: string;

const F = '/views/session_facts';
const T = '/views/tool_sessions';

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A cursor of the key-order query with its payload changed (its digest kept). */
function tampered(change: (payload: { v: number; q: string; k: Array<string | null> }) => unknown): string {
  const payload = JSON.parse(Buffer.from(keyCursor, 'base64url').toString('utf8')) as { v: number; q: string; k: Array<string | null> };
  return b64(change(payload));
}

beforeAll(async () => {
  home = await tempHome('lattice-reads-bad-');
  fake = await startFake(200);
  await pull(home.dir, fake);
  reads = await startReads(home.dir);
  costCursor = ((await get(`${reads.url}${F}?limit=5&order_by=-cost_usd`)).json as ViewRowsResponse).next!;
  keyCursor = ((await get(`${reads.url}${F}?limit=5`)).json as ViewRowsResponse).next!;
});

afterAll(async () => {
  await reads?.stop();
  await fake?.close();
  await home?.cleanup();
});

interface BadCase {
  name: string;
  path: () => string;
  parameter: string;
  /** Words the message must contain (the problem, the column's type, an example...). */
  says: RegExp;
}

const enc = encodeURIComponent;

const HTTP_CASES: BadCase[] = [
  // operators
  {
    name: 'unknown operator',
    path: () => `${F}?filter[cost_usd][between]=1`,
    parameter: 'filter[cost_usd][between]',
    says: /unknown operator "between"; operators: eq, ne, gt/,
  },
  { name: 'empty operator', path: () => `${F}?filter[cost_usd][]=1`, parameter: 'filter[cost_usd][]', says: /unknown operator ""/ },
  { name: 'operator in upper case', path: () => `${F}?filter[cost_usd][GT]=1`, parameter: 'filter[cost_usd][GT]', says: /unknown operator "GT"/ },
  {
    name: 'SQL as an operator',
    path: () => `${F}?filter[cost_usd][${enc('>= 0 OR 1=1 --')}]=1`,
    parameter: 'filter[cost_usd][>= 0 OR 1=1 --]',
    says: /unknown operator/,
  },
  { name: 'a third bracket', path: () => `${F}?filter[cost_usd][gt][x]=1`, parameter: 'filter[cost_usd][gt][x]', says: /unknown parameter/ },
  {
    name: 'operator on an unknown column',
    path: () => `${F}?filter[nope][gt]=1`,
    parameter: 'filter[nope][gt]',
    says: /unknown column "nope" in view session_facts; columns: session_id/,
  },
  {
    name: 'the same operator twice',
    path: () => `${F}?filter[cost_usd][gt]=1&filter[cost_usd][gt]=2`,
    parameter: 'filter[cost_usd][gt]',
    says: /given more than once/,
  },
  // operator / type mismatches
  {
    name: 'gt on a boolean',
    path: () => `${F}?filter[uses_sidechain][gt]=true`,
    parameter: 'filter[uses_sidechain][gt]',
    says: /operator gt does not apply to column uses_sidechain \(BOOLEAN\)/,
  },
  {
    name: 'lte on a list',
    path: () => `${F}?filter[repo_ids][lte]=3`,
    parameter: 'filter[repo_ids][lte]',
    says: /does not apply to column repo_ids \(BIGINT\[\]\).*contains/,
  },
  {
    name: 'prefix on a list',
    path: () => `${F}?filter[models][prefix]=claude`,
    parameter: 'filter[models][prefix]',
    says: /does not apply to column models \(VARCHAR\[\]\)/,
  },
  {
    name: 'prefix on an integer',
    path: () => `${F}?filter[tool_calls][prefix]=1`,
    parameter: 'filter[tool_calls][prefix]',
    says: /prefix works on text columns/,
  },
  {
    name: 'contains on a date',
    path: () => `${F}?filter[started_day][contains]=2026`,
    parameter: 'filter[started_day][contains]',
    says: /operator contains does not apply to column started_day \(DATE\)/,
  },
  {
    name: 'contains on a double',
    path: () => `${F}?filter[cost_usd][contains]=1`,
    parameter: 'filter[cost_usd][contains]',
    says: /operator contains does not apply/,
  },
  // values that do not convert
  {
    name: 'a word for an integer',
    path: () => `${F}?filter[tool_calls][gte]=many`,
    parameter: 'filter[tool_calls][gte]',
    says: /column type HUGEINT expects an integer like 42, got "many"/,
  },
  { name: 'a fraction for an integer', path: () => `${F}?filter[tool_calls][lt]=1.5`, parameter: 'filter[tool_calls][lt]', says: /HUGEINT expects an integer/ },
  {
    name: 'a word for a double',
    path: () => `${F}?filter[cost_usd][gt]=cheap`,
    parameter: 'filter[cost_usd][gt]',
    says: /column type DOUBLE expects a number like 1.5, got "cheap"/,
  },
  { name: 'NaN for a double', path: () => `${F}?filter[cost_usd][gt]=NaN`, parameter: 'filter[cost_usd][gt]', says: /DOUBLE expects a number/ },
  { name: 'Infinity for a double', path: () => `${F}?filter[cost_usd][lt]=Infinity`, parameter: 'filter[cost_usd][lt]', says: /DOUBLE expects a number/ },
  {
    name: 'a month 13 date',
    path: () => `${F}?filter[started_day][gte]=2026-13-01`,
    parameter: 'filter[started_day][gte]',
    says: /column type DATE expects a date like 2026-01-31, got "2026-13-01"/,
  },
  { name: 'February 30', path: () => `${F}?filter[started_day][lt]=2026-02-30`, parameter: 'filter[started_day][lt]', says: /DATE expects a date/ },
  { name: 'a relative date', path: () => `${F}?filter[started_day][gte]=yesterday`, parameter: 'filter[started_day][gte]', says: /DATE expects a date/ },
  {
    name: "a timestamp at 25 o'clock",
    path: () => `${F}?filter[started_at][gte]=2026-01-01T25:00:00Z`,
    parameter: 'filter[started_at][gte]',
    says: /TIMESTAMP expects an ISO-8601 timestamp like 2026-01-31T13:45:00Z/,
  },
  {
    name: 'a timestamp with a zone name',
    path: () => `${F}?filter[started_at][lt]=${enc('2026-01-01 10:00 America/New_York')}`,
    parameter: 'filter[started_at][lt]',
    says: /TIMESTAMP expects an ISO-8601 timestamp/,
  },
  {
    name: 'a date with a zone but no time',
    path: () => `${F}?filter[started_at][gte]=2026-01-31Z`,
    parameter: 'filter[started_at][gte]',
    says: /TIMESTAMP expects an ISO-8601 timestamp/,
  },
  {
    name: 'an offset of +99:99',
    path: () => `${F}?filter[started_at][gte]=${enc('2026-01-31T13:45:00+99:99')}`,
    parameter: 'filter[started_at][gte]',
    says: /TIMESTAMP expects an ISO-8601 timestamp/,
  },
  {
    name: 'nanoseconds',
    path: () => `${F}?filter[started_at][eq]=2026-01-31T13:45:00.123456789Z`,
    parameter: 'filter[started_at][eq]',
    says: /TIMESTAMP expects an ISO-8601 timestamp/,
  },
  {
    name: 'a boolean spelled yes',
    path: () => `${F}?filter[uses_sidechain][ne]=yes`,
    parameter: 'filter[uses_sidechain][ne]',
    says: /column type BOOLEAN expects true or false, got "yes"/,
  },
  {
    name: 'isnull maybe',
    path: () => `${F}?filter[cost_usd][isnull]=maybe`,
    parameter: 'filter[cost_usd][isnull]',
    says: /expects true or false, got "maybe"/,
  },
  { name: 'isnull empty', path: () => `${F}?filter[cost_usd][isnull]=`, parameter: 'filter[cost_usd][isnull]', says: /expects true or false/ },
  {
    name: 'a word in a list of integers',
    path: () => `${F}?filter[repo_ids][contains]=abc`,
    parameter: 'filter[repo_ids][contains]',
    says: /BIGINT \(an element of BIGINT\[\]\) expects an integer/,
  },
  // in
  {
    name: 'in with an empty list',
    path: () => `${F}?filter[tool_calls][in]=`,
    parameter: 'filter[tool_calls][in]',
    says: /HUGEINT expects an integer like 42, got ""/,
  },
  { name: 'in with a bad member', path: () => `${F}?filter[tool_calls][in]=1,two,3`, parameter: 'filter[tool_calls][in]', says: /got "two"/ },
  {
    name: 'in with an unclosed quote',
    path: () => `${T}?filter[tool_name][in]=${enc('Bash,"Read')}`,
    parameter: 'filter[tool_name][in]',
    says: /a quoted value is not closed/,
  },
  {
    name: 'in with text after a quote',
    path: () => `${T}?filter[tool_name][in]=${enc('"Bash"x,Read')}`,
    parameter: 'filter[tool_name][in]',
    says: /unexpected text after a quoted value/,
  },
  {
    name: 'in with 1001 values',
    path: () => `${F}?filter[tool_calls][in]=${Array.from({ length: 1001 }, (_, i) => i).join(',')}`,
    parameter: 'filter[tool_calls][in]',
    says: /at most 1000 values/,
  },
  // columns
  { name: 'columns: unknown', path: () => `${F}?columns=cwd,nope`, parameter: 'columns', says: /unknown column "nope" in view session_facts/ },
  { name: 'columns: empty', path: () => `${F}?columns=`, parameter: 'columns', says: /expected column names separated by commas/ },
  { name: 'columns: a trailing comma', path: () => `${F}?columns=cwd,`, parameter: 'columns', says: /expected column names/ },
  { name: 'columns: twice the same', path: () => `${F}?columns=cwd,cwd`, parameter: 'columns', says: /column cwd is given twice/ },
  { name: 'columns: SQL', path: () => `${F}?columns=${enc('cwd, (SELECT 1)')}`, parameter: 'columns', says: /unknown column "\(SELECT 1\)"/ },
  { name: 'columns: star', path: () => `${F}?columns=*`, parameter: 'columns', says: /unknown column "\*"/ },
  { name: 'columns: given twice', path: () => `${F}?columns=cwd&columns=session_id`, parameter: 'columns', says: /given more than once/ },
  {
    name: 'columns: more names than the view has',
    path: () => `${T}?columns=tool_name,session_count,session_ids,tool_name`,
    parameter: 'columns',
    says: /at most 3 terms/,
  },
  { name: 'order_by a list column', path: () => `${T}?order_by=session_ids`, parameter: 'order_by', says: /is a list \(BIGINT\[\]\) and cannot be sorted on/ },
  // cursors
  { name: 'after: not base64url', path: () => `${F}?after=${enc('abc$%^')}`, parameter: 'after', says: /not a cursor \(expected base64url text\)/ },
  { name: 'after: empty', path: () => `${F}?after=`, parameter: 'after', says: /the cursor is empty/ },
  {
    name: 'after: base64 of garbage',
    path: () => `${F}?after=${Buffer.from('garbage').toString('base64url')}`,
    parameter: 'after',
    says: /not a cursor \(it does not decode\)/,
  },
  { name: 'after: JSON of another shape', path: () => `${F}?after=${b64({ hello: 'world' })}`, parameter: 'after', says: /not a cursor of this version/ },
  { name: 'after: too long', path: () => `${F}?after=${'A'.repeat(9000)}`, parameter: 'after', says: /longer than 8192/ },
  { name: 'after: from another order_by', path: () => `${F}?after=${costCursor}`, parameter: 'after', says: /belongs to another query/ },
  { name: 'after: from another view', path: () => `${T}?after=${keyCursor}`, parameter: 'after', says: /belongs to another query/ },
  { name: 'after: with other filters', path: () => `${F}?filter[cost_usd][gt]=0&after=${keyCursor}`, parameter: 'after', says: /belongs to another query/ },
  { name: 'after: with offset', path: () => `${F}?offset=5&after=${keyCursor}`, parameter: 'after', says: /after and offset cannot be combined/ },
  {
    name: 'after: a sort value too many',
    path: () => `${F}?after=${tampered((p) => ({ ...p, k: [...p.k, '1'] }))}`,
    parameter: 'after',
    says: /holds 2 sort values, this query sorts on 1/,
  },
  {
    name: 'after: a value of the wrong type',
    path: () => `${F}?after=${tampered((p) => ({ ...p, k: ['x1'] }))}`,
    parameter: 'after',
    says: /BIGINT expects an integer like 42, got "x1"/,
  },
  { name: 'after: given twice', path: () => `${F}?after=${keyCursor}&after=${keyCursor}`, parameter: 'after', says: /given more than once/ },
  // count
  { name: 'count: an unknown mode', path: () => `${F}?count=estimated`, parameter: 'count', says: /expected exact \(the default\) or none, got "estimated"/ },
  { name: 'count: empty', path: () => `${F}?count=`, parameter: 'count', says: /expected exact/ },
];

describe('bad requests of the read API (real process, real HTTP)', () => {
  it('has at least 40 cases', () => {
    expect(HTTP_CASES.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of HTTP_CASES) {
    it(`${c.name}: 400 naming ${c.parameter}`, async () => {
      const res = await get(`${reads.url}${c.path()}`);
      expect(res.status, res.text.slice(0, 300)).toBe(400);
      expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
      const body = res.json as ErrorResponse;
      expect(body.error.code).toBe('bad_parameter');
      expect(body.error.parameter).toBe(c.parameter);
      expect(body.error.message.startsWith(`${c.parameter}: `)).toBe(true);
      expect(body.error.message).toMatch(c.says);
      expect(res.text).not.toMatch(/\bat .*\.js:\d+/);
    });
  }

  it('is still healthy afterwards and logged no error', async () => {
    expect((await get(`${reads.url}${F}?limit=1`)).status).toBe(200);
    expect(reads.daemon.running).toBe(true);
    expect(reads.daemon.stdout).not.toMatch(/"level":50/);
  });
});

describe('bad read_view arguments over MCP', () => {
  let client: Client;
  beforeAll(async () => {
    client = await connect(reads.url);
  });
  afterAll(async () => {
    await client?.close();
  });

  const MCP_CASES: Array<{ name: string; args: () => Record<string, unknown>; says: RegExp }> = [
    {
      name: 'unknown operator',
      args: () => ({ filters: { cost_usd: { between: 1 } } }),
      says: /filters\.cost_usd\.between: unknown operator "between"; operators: eq/,
    },
    { name: 'no operator', args: () => ({ filters: { cost_usd: {} } }), says: /filters\.cost_usd: no operator given/ },
    { name: 'a bare list', args: () => ({ filters: { tool_calls: [1, 2] } }), says: /Input validation error|a list of values needs an operator/ },
    {
      name: 'gt on a boolean',
      args: () => ({ filters: { uses_sidechain: { gt: true } } }),
      says: /filters\.uses_sidechain\.gt: operator gt does not apply to column uses_sidechain \(BOOLEAN\)/,
    },
    { name: 'a list for gt', args: () => ({ filters: { cost_usd: { gt: [1, 2] } } }), says: /operator gt takes one value, got a list/ },
    {
      name: 'a bad date in a range',
      args: () => ({ filters: { started_day: { gte: '2026-02-30' } } }),
      says: /filters\.started_day\.gte: column type DATE expects a date like 2026-01-31/,
    },
    {
      name: 'an integer beyond HUGEINT',
      args: () => ({ filters: { session_id: 1e40 } }),
      says: /filters\.session_id: column type BIGINT expects an integer like 42 of at most 38 digits/,
    },
    { name: 'a huge integer in a range', args: () => ({ filters: { session_id: { gt: 1e300 } } }), says: /filters\.session_id\.gt: .*at most 38 digits/ },
    {
      name: 'a fraction in in',
      args: () => ({ filters: { tool_calls: { in: [1, 2.5] } } }),
      says: /filters\.tool_calls\.in: column type HUGEINT expects an integer like 42, got 2.5/,
    },
    { name: 'unknown column in columns', args: () => ({ columns: ['cwd', 'nope'] }), says: /columns: unknown column "nope"/ },
    { name: 'a malformed cursor', args: () => ({ after: 'not a cursor!' }), says: /after: not a cursor/ },
    { name: 'a foreign cursor', args: () => ({ after: costCursor }), says: /after: the cursor belongs to another query/ },
    { name: 'after with offset', args: () => ({ after: keyCursor, offset: 3 }), says: /after and offset cannot be combined/ },
    { name: 'an unknown count mode', args: () => ({ count: 'some' }), says: /Input validation error.*count/s },
  ];

  for (const c of MCP_CASES) {
    it(`${c.name}: a tool error naming it`, async () => {
      const text = errorText(await call(client, 'read_view', { view: 'session_facts', ...c.args() }));
      expect(text).toMatch(c.says);
      expect(text).not.toMatch(/\bat .*\.js:\d+/);
    });
  }
});
