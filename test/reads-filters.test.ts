import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import type { ReadsServer } from '../src/reads/http/server.js';
import type { ViewRowsResponse } from '../src/reads/contract/api-types.js';
import { get, startPulledServer, type PulledServer } from './reads/fixtures.js';
import { call, connect, structured } from './reads/mcp-client.js';

vi.mock('../src/shared/version.js', async (original) => ({ ...(await original<object>()), VERSION: '0.0.0-test' }));

/**
 * Filter operators on every column type the catalog has (integer, double, date, timestamp, text,
 * boolean, list), NULLs included, over real HTTP and MCP against a real pulled snapshot. The
 * expected rows come from evaluating each condition in JavaScript over the whole view (one
 * unfiltered read), not from SQL, so the planner's SQL is checked against an independent oracle.
 */

type Row = Record<string, unknown>;
type Cell = string | number | boolean | null | Array<string | number | null>;

let pulled: PulledServer;
let server: ReadsServer;
let all: Row[];

const V = '/views/session_facts';

async function rows(query: string): Promise<ViewRowsResponse> {
  const res = await get(`${server.url}${V}?limit=10000&${query}`);
  expect(res.status, res.text.slice(0, 300)).toBe(200);
  return res.json as ViewRowsResponse;
}

function ids(list: Row[]): number[] {
  return list.map((r) => r.session_id as number).sort((a, b) => a - b);
}

/** A timestamp cell (`2026-01-02 03:04:05[.ffffff]`, UTC) or a query value (ISO-8601) as ms. */
function instant(text: string): number {
  const iso = text.includes('T') ? text : `${text.replace(' ', 'T')}`;
  return Date.parse(/Z|[+-]\d{2}:?\d{2}$/.test(iso) ? iso : `${iso}Z`);
}

beforeAll(async () => {
  pulled = await startPulledServer('lattice-reads-filters-', 400);
  ({ server } = pulled);
  all = (await rows('')).rows;
});

afterAll(async () => {
  await pulled?.close();
});

describe('the snapshot under test', () => {
  it('has every column type with NULLs where a column can be NULL', () => {
    expect(all.length).toBeGreaterThan(350);
    const nulls = (col: string) => all.filter((r) => r[col] === null).length;
    for (const col of ['started_at', 'started_day', 'cost_usd', 'tool_calls']) {
      expect(nulls(col), col).toBeGreaterThan(0);
      expect(nulls(col), col).toBeLessThan(all.length);
    }
    expect(all.some((r) => r.uses_sidechain === true) && all.some((r) => r.uses_sidechain === false)).toBe(true);
    expect(all.some((r) => (r.repo_ids as number[]).length === 0) && all.some((r) => (r.repo_ids as number[]).length > 1)).toBe(true);
  });
});

/** Values picked from the data, so that every case selects some rows and not all. */
function pick(col: string, at = 0.5): Cell {
  const values = all.map((r) => r[col] as Cell).filter((v) => v !== null);
  const sorted = [...values].sort((a, b) => (String(a) < String(b) ? -1 : 1));
  if (typeof values[0] === 'number') (sorted as number[]).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length * at)]!;
}

interface Case {
  column: string;
  op: string;
  /** The query-string value. */
  value: () => string;
  /** Whether a row matches, evaluated here. */
  matches: (cell: Cell, value: string) => boolean;
}

const cmp = {
  gt: (a: number, b: number) => a > b,
  gte: (a: number, b: number) => a >= b,
  lt: (a: number, b: number) => a < b,
  lte: (a: number, b: number) => a <= b,
};
type Range = keyof typeof cmp;
const RANGES: Range[] = ['gt', 'gte', 'lt', 'lte'];

/** Range, eq, ne and in cases for a scalar column whose cells map to numbers with `key`. */
function scalarCases(column: string, key: (cell: string | number, fromQuery: boolean) => number, sample: () => string, other: () => string): Case[] {
  const out: Case[] = RANGES.map((op) => ({
    column,
    op,
    value: sample,
    matches: (c, v) => c !== null && cmp[op](key(c as string | number, false), key(v, true)),
  }));
  out.push(
    { column, op: 'eq', value: sample, matches: (c, v) => c !== null && key(c as string | number, false) === key(v, true) },
    { column, op: 'ne', value: sample, matches: (c, v) => c !== null && key(c as string | number, false) !== key(v, true) },
    {
      column,
      op: 'in',
      value: () => `${sample()},${other()}`,
      matches: (c, v) => c !== null && v.split(',').some((x) => key(x, true) === key(c as string | number, false)),
    },
  );
  return out;
}

const isnull = (column: string): Case[] => [
  { column, op: 'isnull', value: () => 'true', matches: (c) => c === null },
  { column, op: 'isnull', value: () => 'false', matches: (c) => c !== null },
];

const CASES: Case[] = [
  // integer (NULL when the tool counts could not be read)
  ...scalarCases(
    'tool_calls',
    (c) => Number(c),
    () => String(pick('tool_calls')),
    () => String(pick('tool_calls', 0.9)),
  ),
  ...isnull('tool_calls'),
  // double (NULL when unpriced)
  ...scalarCases(
    'cost_usd',
    (c) => Number(c),
    () => String(pick('cost_usd')),
    () => String(pick('cost_usd', 0.2)),
  ),
  ...isnull('cost_usd'),
  // date
  ...scalarCases(
    'started_day',
    (c) => Date.parse(String(c)),
    () => String(pick('started_day')),
    () => String(pick('started_day', 0.8)),
  ),
  ...isnull('started_day'),
  // timestamp: UTC cells; values with Z, with an offset (converted to UTC), and with none (UTC)
  ...scalarCases(
    'started_at',
    (c) => instant(String(c)),
    () => `${String(pick('started_at')).replace(' ', 'T')}Z`,
    () => String(pick('started_at', 0.3)),
  ),
  {
    column: 'started_at',
    op: 'gte',
    value: () => new Date(instant(String(pick('started_at', 0.6))) - 7 * 3600_000).toISOString().replace('Z', '-07:00'),
    matches: (c, v) => c !== null && instant(String(c)) >= instant(v),
  },
  ...isnull('started_at'),
  // text
  { column: 'cwd', op: 'eq', value: () => String(pick('cwd')), matches: (c, v) => c === v },
  { column: 'cwd', op: 'ne', value: () => String(pick('cwd')), matches: (c, v) => c !== null && c !== v },
  { column: 'cwd', op: 'gt', value: () => String(pick('cwd')), matches: (c, v) => c !== null && (c as string) > v },
  { column: 'cwd', op: 'lte', value: () => String(pick('cwd')), matches: (c, v) => c !== null && (c as string) <= v },
  { column: 'cwd', op: 'prefix', value: () => String(pick('cwd')).slice(0, 12), matches: (c, v) => typeof c === 'string' && c.startsWith(v) },
  { column: 'cwd', op: 'contains', value: () => String(pick('cwd')).split('/').pop()!, matches: (c, v) => typeof c === 'string' && c.includes(v) },
  { column: 'cost_basis', op: 'in', value: () => 'single_model,unpriced', matches: (c) => c === 'single_model' || c === 'unpriced' },
  ...isnull('cwd'),
  // boolean
  { column: 'uses_sidechain', op: 'eq', value: () => 'true', matches: (c) => c === true },
  { column: 'uses_sidechain', op: 'ne', value: () => 'true', matches: (c) => c === false },
  { column: 'uses_sidechain', op: 'in', value: () => 'false', matches: (c) => c === false },
  ...isnull('uses_sidechain'),
  // list of integers, list of text
  { column: 'repo_ids', op: 'eq', value: () => String((pick('repo_ids', 0.9) as number[])[0]), matches: (c, v) => (c as number[]).includes(Number(v)) },
  { column: 'repo_ids', op: 'contains', value: () => String((pick('repo_ids', 0.9) as number[])[0]), matches: (c, v) => (c as number[]).includes(Number(v)) },
  { column: 'repo_ids', op: 'ne', value: () => String((pick('repo_ids', 0.9) as number[])[0]), matches: (c, v) => !(c as number[]).includes(Number(v)) },
  {
    column: 'repo_ids',
    op: 'in',
    value: () => `${(pick('repo_ids', 0.9) as number[])[0]},${(pick('repo_ids', 0.3) as number[])[0]}`,
    matches: (c, v) => v.split(',').some((x) => (c as number[]).includes(Number(x))),
  },
  { column: 'models', op: 'contains', value: () => String((pick('models', 0.5) as string[])[0]), matches: (c, v) => (c as string[]).includes(v) },
  { column: 'models', op: 'eq', value: () => String((pick('models', 0.5) as string[])[0]), matches: (c, v) => (c as string[]).includes(v) },
  ...isnull('models'),
];

describe('every operator on every column type (HTTP)', () => {
  for (const c of CASES) {
    it(`${c.column} ${c.op}`, async () => {
      const value = c.value();
      const body = await rows(`filter[${c.column}][${c.op}]=${encodeURIComponent(value)}`);
      const expected = all.filter((r) => c.matches(r[c.column] as Cell, value));
      expect(ids(body.rows)).toEqual(ids(expected));
      expect(body.total).toBe(expected.length);
      expect(body.filters).toHaveLength(1);
      expect(body.filters[0]).toMatchObject({ column: c.column, op: c.op });
    });
  }

  it('selects some rows and not all in most cases (the cases are not vacuous)', () => {
    const sizes = CASES.map((c) => {
      const value = c.value();
      return all.filter((r) => c.matches(r[c.column] as Cell, value)).length;
    });
    expect(sizes.filter((n) => n > 0 && n < all.length).length).toBeGreaterThanOrEqual(CASES.length - 6);
  });
});

describe('combinations', () => {
  it('ANDs several conditions on one column and across columns (a date range and a cost floor)', async () => {
    const from = String(pick('started_day', 0.2));
    const to = String(pick('started_day', 0.7));
    const floor = Number(pick('cost_usd', 0.3));
    const body = await rows(`filter[started_day][gte]=${from}&filter[started_day][lt]=${to}&filter[cost_usd][gt]=${floor}`);
    const expected = all.filter(
      (r) =>
        r.started_day !== null && (r.started_day as string) >= from && (r.started_day as string) < to && r.cost_usd !== null && (r.cost_usd as number) > floor,
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(ids(body.rows)).toEqual(ids(expected));
    expect(body.filters.map((f) => `${f.column}.${f.op}`)).toEqual(['cost_usd.gt', 'started_day.gte', 'started_day.lt']);
  });

  it('filter[col]=v is still an exact match, and equals filter[col][eq]=v', async () => {
    const cwd = String(pick('cwd'));
    const plain = await rows(`filter[cwd]=${encodeURIComponent(cwd)}`);
    const eq = await rows(`filter[cwd][eq]=${encodeURIComponent(cwd)}`);
    expect(plain.rows).toEqual(eq.rows);
    expect(plain.rows.length).toBeGreaterThan(0);
  });

  it('in takes quoted values holding commas and quotes', async () => {
    const res = await get(`${server.url}/views/tool_sessions?limit=10000&filter[tool_name][in]=${encodeURIComponent('Bash,"a,b","say ""hi""",Read')}`);
    const body = res.json as ViewRowsResponse;
    expect(res.status).toBe(200);
    expect(body.filters[0]!.value).toEqual(['Bash', 'a,b', 'say "hi"', 'Read']);
    expect(body.rows.map((r) => r.tool_name).sort()).toEqual(['Bash', 'Read']);
  });

  it('reads t and z in either case, and an offset as an instant', async () => {
    const at = String(pick('started_at', 0.4)).replace(' ', 'T').slice(0, 19);
    const upper = await rows(`filter[started_at][gte]=${at}Z`);
    const lower = await rows(`filter[started_at][gte]=${at.replace('T', 't')}z`);
    const shifted = new Date(Date.parse(`${at}Z`) + 5.5 * 3600_000).toISOString().slice(0, 19);
    const offset = await rows(`filter[started_at][gte]=${encodeURIComponent(`${shifted}+05:30`)}`);
    expect(upper.rows.length).toBeGreaterThan(0);
    expect(ids(lower.rows)).toEqual(ids(upper.rows));
    expect(ids(offset.rows)).toEqual(ids(upper.rows));
  });

  it('a big integer beyond the column range compares instead of failing', async () => {
    const body = await rows(`filter[tool_calls][lt]=99999999999999999999999`);
    expect(body.total).toBe(all.filter((r) => r.tool_calls !== null).length);
    expect(body.filters[0]!.value).toBe('99999999999999999999999');
  });
});

describe('columns and count', () => {
  it('returns the chosen columns in order, with the key columns added', async () => {
    const body = (await get(`${server.url}${V}?columns=cost_usd,cwd&limit=5`)).json as ViewRowsResponse;
    expect(body.rows).toHaveLength(5);
    expect(body.columns.map((c) => c.name)).toEqual(['cost_usd', 'cwd', 'session_id']);
    for (const r of body.rows) expect(Object.keys(r)).toEqual(['cost_usd', 'cwd', 'session_id']);
    const csv = await get(`${server.url}${V}?columns=cwd&limit=2&format=csv`);
    expect(csv.text.split('\r\n')[0]).toBe('cwd,session_id');
  });

  it('count=none leaves total out (null, no X-Lattice-Total) and the rows the same', async () => {
    const counted = await get(`${server.url}${V}?limit=7&order_by=-cost_usd`);
    const uncounted = await get(`${server.url}${V}?limit=7&order_by=-cost_usd&count=none`);
    expect((counted.json as ViewRowsResponse).total).toBe(all.length);
    expect(counted.headers['x-lattice-total']).toBe(String(all.length));
    expect((uncounted.json as ViewRowsResponse).total).toBeNull();
    expect(uncounted.headers['x-lattice-total']).toBeUndefined();
    expect((uncounted.json as ViewRowsResponse).rows).toEqual((counted.json as ViewRowsResponse).rows);
  });
});

describe('the same operators over MCP read_view', () => {
  let client: Client;
  beforeAll(async () => {
    client = await connect(server.url);
  });
  afterAll(async () => {
    await client?.close();
  });

  it('answers what HTTP answers, with values typed as JSON', async () => {
    const from = String(pick('started_day', 0.2));
    const floor = Number(pick('cost_usd', 0.3));
    const args = {
      view: 'session_facts',
      limit: 10000,
      filters: { started_day: { gte: from }, cost_usd: { gt: floor }, uses_sidechain: false, repo_ids: { in: [(pick('repo_ids', 0.9) as number[])[0]!] } },
      columns: ['cost_usd', 'started_day'],
    };
    const mcp = structured<ViewRowsResponse>(await call(client, 'read_view', args));
    const repo = (pick('repo_ids', 0.9) as number[])[0]!;
    const http = await rows(
      `filter[started_day][gte]=${from}&filter[cost_usd][gt]=${floor}&filter[uses_sidechain]=false&filter[repo_ids][in]=${repo}&columns=cost_usd,started_day`,
    );
    expect(mcp.rows.length).toBeGreaterThan(0);
    expect(mcp.rows).toEqual(http.rows);
    expect(mcp.total).toBe(http.total);
  });

  it('null matches NULL and isnull false the rest', async () => {
    const nulls = structured<ViewRowsResponse>(
      await call(client, 'read_view', { view: 'session_facts', limit: 10000, filters: { cost_usd: null }, columns: ['cost_usd'] }),
    );
    const rest = structured<ViewRowsResponse>(await call(client, 'read_view', { view: 'session_facts', limit: 0, filters: { cost_usd: { isnull: false } } }));
    expect(nulls.total).toBe(all.filter((r) => r.cost_usd === null).length);
    expect(nulls.total! + rest.total!).toBe(all.length);
  });
});

describe("the catalog's operators per column", () => {
  it('are exactly the operators the planner accepts on each column (the web UI offers only these)', async () => {
    const catalog = (await get(`${server.url}/views`)).json as {
      views: Array<{ name: string; columns: Array<{ name: string; type: string; operators: string[] }> }>;
    };
    const facts = catalog.views.find((v) => v.name === 'session_facts')!;
    const types = new Set(facts.columns.map((c) => c.type));
    expect([...types].sort()).toEqual(['BIGINT', 'BIGINT[]', 'BOOLEAN', 'DATE', 'DOUBLE', 'HUGEINT', 'TIMESTAMP', 'VARCHAR', 'VARCHAR[]']);
    const ALL = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'prefix', 'contains', 'isnull'];
    // One column per type is enough: the rule is by type.
    const seen = new Set<string>();
    for (const column of facts.columns) {
      if (seen.has(column.type)) continue;
      seen.add(column.type);
      expect(column.operators.length, column.name).toBeGreaterThan(0);
      for (const op of ALL) {
        // A value that may not convert: a conversion error is fine, "does not apply" only for an operator not listed.
        const value = op === 'isnull' ? 'true' : '1';
        const res = await get(`${server.url}${V}?limit=1&filter[${column.name}][${op}]=${value}`);
        const refused = res.status === 400 && (res.json as { error: { message: string } }).error.message.includes('does not apply');
        expect(refused, `${column.name} (${column.type}) ${op}: ${res.text.slice(0, 200)}`).toBe(!column.operators.includes(op));
      }
    }
  });
});
