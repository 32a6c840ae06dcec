import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { pageInfoOf, planRead, type ReadViewParams } from '../../src/reads/data/plan/planner.js';
import type { ViewInfo } from '../../src/reads/data/generation.js';

/**
 * The planner's SQL against DuckDB itself, on a table made to be hard to page: NULLs, NaN, ±inf,
 * -0.0, doubles that do not print short, microsecond timestamps, many ties, and columns named
 * like the planner's own aliases (`k`, `j`). Following the cursors of every sort, at several page
 * sizes, must give exactly the rows of one full read.
 */

let db: DuckDBInstance;
let conn: DuckDBConnection;

const VIEW: ViewInfo = {
  name: 't',
  description: 'a table made to be hard to page',
  refresh_interval_seconds: 0,
  key_columns: ['k'],
  materialized_at: null,
  row_count: null,
  scan_version: null,
  last_error: null,
  last_error_at: null,
  columns: [
    { name: 'k', type: 'BIGINT' },
    { name: 'j', type: 'VARCHAR' },
    { name: 'd', type: 'DOUBLE' },
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'b', type: 'BOOLEAN' },
    { name: 'day', type: 'DATE' },
  ],
  materialized: true,
} as ViewInfo;

beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
  await conn.run(`
    CREATE TABLE main.t AS
    SELECT i AS k,
           CASE WHEN i % 7 = 0 THEN NULL ELSE 'g' || (i % 5) END AS j,
           CASE i % 11 WHEN 0 THEN NULL WHEN 1 THEN 'nan'::DOUBLE WHEN 2 THEN 'inf'::DOUBLE WHEN 3 THEN '-inf'::DOUBLE
                       WHEN 4 THEN -0.0 WHEN 5 THEN 0.1::DOUBLE + 0.2::DOUBLE WHEN 6 THEN 1e-7 WHEN 7 THEN 123456789.123456789
                       ELSE (i % 4) / 3 END AS d,
           CASE WHEN i % 9 = 0 THEN NULL ELSE TIMESTAMP '2026-01-01 00:00:00' + INTERVAL (i % 13) HOUR + INTERVAL (i % 3) MICROSECOND END AS ts,
           CASE WHEN i % 6 = 0 THEN NULL ELSE i % 2 = 0 END AS b,
           CASE WHEN i % 8 = 0 THEN NULL ELSE DATE '2026-03-01' + (i % 4)::INTEGER END AS day
    FROM range(1, 121) r(i)`);
});

afterAll(() => {
  conn?.disconnectSync();
  db?.closeSync();
});

async function page(params: ReadViewParams): Promise<{ rows: string[]; next: string | null; total: number | null }> {
  const plan = planRead(VIEW, params);
  const rows = (await conn.runAndReadAll(plan.rowsSql, plan.values)).getColumnsJson()[0] as string[] | undefined;
  const info = plan.infoSql === null ? undefined : (await conn.runAndReadAll(plan.infoSql, plan.infoValues)).getRowObjectsJson()[0];
  return { rows: rows ?? [], ...pageInfoOf(plan, info) };
}

const SORTS = ['', 'd', '-d', 'j,-d', '-j,d,ts', 'ts', '-ts', 'b,-day', '-b,day,-d', 'day,j', '-k'];

describe('keyset paging over NULLs, NaN, infinities and ties', () => {
  for (const sort of SORTS) {
    for (const limit of [1, 3, 7]) {
      it(`order_by=${sort || '(key)'}, limit ${limit}`, async () => {
        const base: ReadViewParams = sort === '' ? {} : { order_by: sort };
        const whole = await page({ ...base, limit: 1000 });
        expect(whole.rows).toHaveLength(120);
        expect(whole.next).toBeNull();
        const rows: string[] = [];
        let after: string | undefined;
        for (let n = 0; n < 200; n++) {
          const p = await page({ ...base, limit, ...(after !== undefined && { after }) });
          rows.push(...p.rows);
          if (p.next === null) break;
          after = p.next;
        }
        expect(rows).toEqual(whole.rows);
      });
    }
  }

  it('limit 0 with a cursor counts and says nothing more', async () => {
    const first = await page({ limit: 5 });
    const zero = await page({ limit: 0, after: first.next! });
    expect(zero.rows).toEqual([]);
    expect(zero.next).toBeNull();
    expect(zero.total).toBe(120);
  });

  it('filters on the aliases-named columns and pages them', async () => {
    const filtered = await page({ filters: { j: { in: 'g1,g2' }, d: { isnull: false } }, order_by: '-d', limit: 1000 });
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await page({ filters: { j: { in: 'g1,g2' }, d: { isnull: false } }, order_by: '-d', limit: 4, ...(after !== undefined && { after }) });
      paged.push(...p.rows);
      if (p.next === null) break;
      after = p.next;
    }
    expect(filtered.rows.length).toBeGreaterThan(10);
    expect(paged).toEqual(filtered.rows);
    expect(filtered.total).toBe(filtered.rows.length);
  });
});
