import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { ReadsError } from '../../src/reads/contract/errors.js';
import { decodeCursor, encodeCursor, MAX_CURSOR_LENGTH, queryDigest } from '../../src/reads/data/plan/cursor.js';
import type { FilterSpec } from '../../src/reads/data/plan/filters.js';
import { DEFAULT_LIMIT, pageInfoOf, planRead, type ReadViewParams } from '../../src/reads/data/plan/planner.js';
import type { ViewInfo } from '../../src/reads/data/generation.js';

/**
 * The planner's operators, cursors and refusals, against DuckDB itself on a six-row table whose
 * rows are known by heart (keyset paging over a table made to be hard to page is
 * reads-planner.test.ts; the same refusals over HTTP and MCP, reads-filters and reads-bad-requests).
 */

const VIEW: ViewInfo = {
  name: 'u',
  description: 'six known rows',
  refresh_interval_seconds: 0,
  key_columns: ['k'],
  materialized_at: null,
  row_count: 6,
  watermark: null,
  scan_version: null,
  last_duration_ms: null,
  last_error: null,
  last_error_at: null,
  stale: false,
  columns: [
    { name: 'k', type: 'BIGINT' },
    { name: 's', type: 'VARCHAR' },
    { name: 'n', type: 'BIGINT' },
    { name: 'd', type: 'DOUBLE' },
    { name: 'day', type: 'DATE' },
    { name: 'tags', type: 'VARCHAR[]' },
  ],
  materialized: true,
};

let db: DuckDBInstance;
let conn: DuckDBConnection;

beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
  await conn.run(`
    CREATE TABLE main.u AS SELECT * FROM (VALUES
      (1, 'alpha',       10,   1.5,   DATE '2026-03-01', ['x', 'y']),
      (2, 'Alpha',       20,   -2.0,  DATE '2026-03-02', ['y']),
      (3, 'al%_pha',     NULL, NULL,  NULL,              []::VARCHAR[]),
      (4, NULL,          5,    0.0,   DATE '2026-03-03', NULL),
      (5, 'beta, gamma', 20,   3.25,  DATE '2026-03-01', ['z']),
      (6, 'x"y',         -1,   100.0, DATE '2026-02-28', ['x'])
    ) t(k, s, n, d, day, tags)`);
});

afterAll(() => {
  conn?.disconnectSync();
  db?.closeSync();
});

/** The keys of the rows a read returns, and what it says about itself. */
async function read(params: ReadViewParams): Promise<{ keys: number[]; total: number | null; next: string | null }> {
  const plan = planRead(VIEW, params);
  const rows = ((await conn.runAndReadAll(plan.rowsSql, plan.values)).getColumnsJson()[0] ?? []) as string[];
  const info = plan.infoSql === null ? undefined : (await conn.runAndReadAll(plan.infoSql, plan.infoValues)).getRowObjectsJson()[0];
  return { keys: rows.map((r) => (JSON.parse(r) as { k: number }).k), ...pageInfoOf(plan, info) };
}

const keysWhere = async (filters: Readonly<Record<string, FilterSpec>>) => (await read({ filters })).keys;

/** The error planRead throws for these parameters, as code, parameter and message. */
function refusal(params: ReadViewParams): { code: string; parameter: string | undefined; message: string } {
  try {
    planRead(VIEW, params);
  } catch (err) {
    if (!(err instanceof ReadsError)) throw err;
    return { code: err.code, parameter: err.parameter, message: err.message };
  }
  throw new Error(`planRead accepted ${JSON.stringify(params)}`);
}

describe('filter operators, each against the rows it must keep', () => {
  it.each([
    ['s eq', { s: 'alpha' }, [1]],
    ['s eq is case-sensitive', { s: { eq: 'Alpha' } }, [2]],
    ['s ne leaves NULL out', { s: { ne: 'alpha' } }, [2, 3, 5, 6]],
    ['s prefix', { s: { prefix: 'al' } }, [1, 3]],
    ['s prefix takes % and _ literally', { s: { prefix: 'al%_' } }, [3]],
    ['s contains', { s: { contains: ', ' } }, [5]],
    ['s contains a quote', { s: { contains: '"' } }, [6]],
    ['s in, a quoted value holding a comma', { s: { in: 'alpha,"beta, gamma"' } }, [1, 5]],
    ['s in, a doubled quote inside quotes', { s: { in: '"x""y"' } }, [6]],
    ['s in, as a list', { s: { in: ['Alpha', 'nope'] } }, [2]],
    ['s isnull', { s: null }, [4]],
    ['s isnull false', { s: { isnull: false } }, [1, 2, 3, 5, 6]],
    ['n gt', { n: { gt: 10 } }, [2, 5]],
    ['n gte', { n: { gte: 10 } }, [1, 2, 5]],
    ['n lt', { n: { lt: 5 } }, [6]],
    ['n lte, from text', { n: { lte: '5' } }, [4, 6]],
    ['n a range', { n: { gt: -1, lt: 20 } }, [1, 4]],
    ['d negative', { d: { lt: 0 } }, [2]],
    ['d gte 0 keeps -0 and 0', { d: { gte: 0 } }, [1, 4, 5, 6]],
    ['day gte', { day: { gte: '2026-03-01' } }, [1, 2, 4, 5]],
    ['day eq', { day: '2026-03-01' }, [1, 5]],
    ['tags eq: the list holds it', { tags: 'x' }, [1, 6]],
    ['tags ne: the list lacks it (a NULL list is neither)', { tags: { ne: 'x' } }, [2, 3, 5]],
    ['tags in: the list holds any', { tags: { in: 'x,z' } }, [1, 5, 6]],
    ['several columns are ANDed', { s: { prefix: 'al' }, n: { gte: 10 } }, [1]],
  ] as const)('%s', async (_, filters, keys) => {
    expect(await keysWhere(filters)).toEqual(keys);
  });

  it('binds every value: SQL in a value is only data', async () => {
    const plan = planRead(VIEW, { filters: { s: { eq: "alpha' OR 1=1 --" } } });
    expect(plan.rowsSql).not.toContain('OR 1=1');
    expect(plan.values).toContain("alpha' OR 1=1 --");
    expect((await read({ filters: { s: { eq: "alpha' OR 1=1 --" } } })).keys).toEqual([]);
  });
});

describe('sorting, paging and columns', () => {
  it('sorts by the given terms with the key as tie-breaker, NULLs last either way', async () => {
    expect((await read({ order_by: 'n' })).keys).toEqual([6, 4, 1, 2, 5, 3]);
    expect((await read({ order_by: '-n' })).keys).toEqual([2, 5, 1, 4, 6, 3]);
    expect((await read({ order_by: ['-day', 's'] })).keys).toEqual([4, 2, 1, 5, 6, 3]);
  });

  it('pages by offset and limit, counting every matching row', async () => {
    expect(await read({ order_by: 'k', limit: 2, offset: 2 })).toMatchObject({ keys: [3, 4], total: 6 });
    expect(await read({ limit: '0' })).toMatchObject({ keys: [], total: 6, next: null });
    expect(await read({ limit: 2, count: 'none' })).toMatchObject({ keys: [1, 2], total: null });
    expect(planRead(VIEW, {}).limit).toBe(DEFAULT_LIMIT);
  });

  it('follows cursors to the end: the pages add up to one read, and the last says nothing more', async () => {
    const params: ReadViewParams = { order_by: '-n', filters: { n: { isnull: false } } };
    const whole = (await read(params)).keys;
    const paged: number[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const p = await read({ ...params, limit: 2, ...(after !== undefined && { after }) });
      paged.push(...p.keys);
      if (p.next === null) break;
      after = p.next;
    }
    expect(paged).toEqual(whole);
    expect(whole).toEqual([2, 5, 1, 4, 6]);
  });

  it('returns the columns asked for in that order, with the key added when left out', () => {
    expect(planRead(VIEW, { columns: 's,n' }).columns.map((c) => c.name)).toEqual(['s', 'n', 'k']);
    expect(planRead(VIEW, { columns: ['k', 'day'] }).columns.map((c) => c.name)).toEqual(['k', 'day']);
  });

  it('gives two spellings of one query the same cache key, and different queries different ones', () => {
    const a = planRead(VIEW, { filters: { n: { gte: 10 } }, order_by: '-n', limit: '5' });
    const b = planRead(VIEW, { filters: { n: { gte: '10' } }, order_by: ['-n'], limit: 5 });
    expect(a.key).toBe(b.key);
    expect(planRead(VIEW, { order_by: 'n' }).key).not.toBe(planRead(VIEW, { order_by: '-n' }).key);
  });
});

describe('cursors', () => {
  it('round-trip their sort values, NULLs and any text included', () => {
    const digest = queryDigest(['u', 'n', []]);
    const keys = [null, '20', 'x"y, é \u{1F600}', ''];
    const cursor = encodeCursor(digest, keys);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, digest, keys.length)).toEqual(keys);
  });

  it.each([
    ['empty', '', /the cursor is empty/],
    ['not base64url', 'abc+/=', /expected base64url text/],
    ['not JSON inside', Buffer.from('{nope').toString('base64url'), /does not decode/],
    ['another version', Buffer.from(JSON.stringify({ v: 2, q: 'd', k: [] })).toString('base64url'), /not a cursor of this version/],
    ['another query', encodeCursor('other-digest', ['1']), /belongs to another query/],
    ['too many sort values', encodeCursor('d', ['1', '2']), /holds 2 sort values, this query sorts on 1/],
    ['too long', 'A'.repeat(MAX_CURSOR_LENGTH + 1), /longer than 8192 characters/],
  ])('refuses a cursor that is %s, naming `after`', (_, cursor, message) => {
    expect(() => decodeCursor(cursor, 'd', 1)).toThrow(message);
    try {
      decodeCursor(cursor, 'd', 1);
    } catch (err) {
      expect(err).toMatchObject({ code: 'bad_parameter', parameter: 'after' });
    }
  });

  it('refuses a cursor of one sort used with another, and one used with offset', async () => {
    const { next } = await read({ order_by: 'n', limit: 1 });
    expect(next).not.toBeNull();
    expect(refusal({ order_by: '-n', after: next! })).toMatchObject({ parameter: 'after', message: expect.stringMatching(/another query/) });
    expect(refusal({ order_by: 'n', filters: { n: { gt: 0 } }, after: next! })).toMatchObject({ parameter: 'after' });
    expect(refusal({ order_by: 'n', after: next!, offset: 1 })).toMatchObject({ code: 'bad_parameter' });
  });
});

describe('bad parameters are refused, each naming its parameter', () => {
  it.each([
    ['a negative limit', { limit: -1 }, 'limit'],
    ['a limit above the maximum', { limit: 10_001 }, 'limit'],
    ['a fractional limit', { limit: '1.5' }, 'limit'],
    ['a negative offset', { offset: '-5' }, 'offset'],
    ['an unknown column to sort on', { order_by: 'nope' }, 'order_by'],
    ['a list column to sort on', { order_by: 'tags' }, 'order_by'],
    ['a column sorted on twice', { order_by: 'n,-n' }, 'order_by'],
    ['an empty sort term', { order_by: 'n,' }, 'order_by'],
    ['an unknown column to return', { columns: 's,nope' }, 'columns'],
    ['a column returned twice', { columns: 's,s' }, 'columns'],
    ['an unknown count mode', { count: 'maybe' }, 'count'],
    ['an unknown column to filter', { filters: { nope: 1 } }, 'filters.nope'],
    ['an unknown operator', { filters: { n: { like: 1 } } }, 'filters.n.like'],
    ['prefix on a number', { filters: { n: { prefix: '1' } } }, 'filters.n.prefix'],
    ['a range on a list', { filters: { tags: { gt: 'x' } } }, 'filters.tags.gt'],
    ['text where a number goes', { filters: { n: { eq: '1 OR 1=1' } } }, 'filters.n.eq'],
    ['a date that is not one', { filters: { day: { gte: '2026-02-30' } } }, 'filters.day.gte'],
    ['an in list with an unclosed quote', { filters: { s: { in: '"a,b' } } }, 'filters.s.in'],
    ['several values where one goes', { filters: { n: { eq: [1, 2] } } }, 'filters.n.eq'],
  ] as const)('%s', (_, params, parameter) => {
    const got = refusal(params);
    expect(got).toMatchObject({ code: 'bad_parameter', parameter });
    expect(got.message.startsWith(`${parameter}: `)).toBe(true);
  });
});
