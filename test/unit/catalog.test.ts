import { describe, expect, it } from 'vitest';
import { CATALOG, CATALOG_AXES } from '../../src/shared/catalog/index.js';
import { assertCatalog, defineView } from '../../src/shared/catalog/define.js';
import { MAX_COUNT } from '../../src/puller/staging.js';
import { describeViews } from '../../scripts/generate/views-doc.js';
import { jsonTypeOf, renderViewRows } from '../../scripts/generate/view-rows.js';

/*
 * The catalog as declared: checked from the sources on in-memory DuckDB. Each view's exact rows,
 * through the real puller, are in test/views.test.ts and test/views-usage.test.ts.
 */

const TYPES_ALLOWED = new Set(['BIGINT', 'HUGEINT', 'DOUBLE', 'VARCHAR', 'BOOLEAN', 'DATE', 'TIMESTAMP', 'BIGINT[]', 'VARCHAR[]']);

describe('the catalog', () => {
  it('has at least 15 uniquely named views, each self-describing', async () => {
    expect(CATALOG.length).toBeGreaterThanOrEqual(15);
    expect(new Set(CATALOG.map((v) => v.name)).size).toBe(CATALOG.length);
    const columns = await describeViews(CATALOG);
    const undescribed: string[] = [];
    const badTypes: string[] = [];
    for (const v of CATALOG) {
      const cols = columns.get(v.name)!;
      for (const k of v.keyColumns)
        expect(
          cols.map((c) => c.name),
          `${v.name} key ${k}`,
        ).toContain(k);
      for (const c of cols) {
        // every output column is named in the description, which says what it means
        if (!new RegExp(`\\b${c.name}\\b`).test(v.description)) undescribed.push(`${v.name}.${c.name}`);
        if (!TYPES_ALLOWED.has(c.type)) badTypes.push(`${v.name}.${c.name} ${c.type}`);
      }
      expect(v.sql, `${v.name} orders its rows`).toMatch(/ORDER BY [^\n]+$/);
      // Refreshed with every load unless the view's measured cost says otherwise (none does).
      expect(v.refreshIntervalSeconds).toBe(0);
    }
    expect(undescribed).toEqual([]);
    expect(badTypes).toEqual([]);
  });

  it('sums what upstream counts as HUGEINT, which no sum of accepted sessions can overflow', async () => {
    // Upstream's counters, and what the views call their sums over sessions (or over a session's tools).
    const sums =
      /^(input_tokens|output_tokens|cache_read_tokens|cache_creation_tokens|total_tokens|message_count|user_message_count|assistant_message_count|calls|errors|tool_calls|tool_errors|occurrences|total_stops|other_stops|end_turn|tool_use|max_tokens|stop_sequence|pause_turn|refusal)$/;
    const columns = await describeViews(CATALOG);
    const notHuge: string[] = [];
    for (const v of CATALOG) {
      for (const c of columns.get(v.name)!) {
        // session_facts carries one session's own counters: at most MAX_COUNT each, 4 * MAX_COUNT for total_tokens;
        // usage_hourly one session's responses of one model in one hour, cast to BIGINT (an overflow fails the view)
        const own = (v.name === 'session_facts' && c.name !== 'tool_calls' && c.name !== 'tool_errors') || v.name === 'usage_hourly';
        if (sums.test(c.name) && !own && c.type !== 'HUGEINT') notHuge.push(`${v.name}.${c.name} ${c.type}`);
      }
    }
    expect(notHuge).toEqual([]);
    // A session's own four counters add up inside BIGINT with room to spare.
    expect(4 * MAX_COUNT).toBeLessThan(2 ** 63 / 1e6);
  });

  it('refuses a view that reads another view it does not declare, or one defined after it', () => {
    const base = defineView({ name: 'a', description: 'a', keyColumns: ['x'], sql: 'SELECT 1 AS x' });
    const undeclared = defineView({ name: 'b', description: 'b', keyColumns: ['x'], sql: 'SELECT x FROM a' });
    const declared = defineView({ ...undeclared, readsViews: ['a'] });
    expect(() => assertCatalog([base, undeclared])).toThrow("view b's SQL names a: list it in readsViews");
    expect(() => assertCatalog([declared, base])).toThrow('view b reads a, which is not defined before it in the catalog');
    expect(() => assertCatalog([base, declared])).not.toThrow();
    // the catalog itself passed this check when it was built; its calendar and cost views read session_facts
    expect(CATALOG.filter((v) => v.readsViews.includes('session_facts')).length).toBeGreaterThanOrEqual(10);
  });

  it('maps each DuckDB type the catalog uses to its JSON type, and refuses one it has no mapping for', async () => {
    expect([...TYPES_ALLOWED].map((t) => `${t}: ${jsonTypeOf(t)}`)).toEqual([
      'BIGINT: number',
      'HUGEINT: number',
      'DOUBLE: number',
      'VARCHAR: string',
      'BOOLEAN: boolean',
      'DATE: string',
      'TIMESTAMP: string',
      'BIGINT[]: (number | null)[]',
      'VARCHAR[]: (string | null)[]',
    ]);
    expect(jsonTypeOf('DECIMAL(18,3)')).toBe('number');
    expect(() => jsonTypeOf('INTERVAL')).toThrow('no TypeScript type for the DuckDB type INTERVAL');
    const odd = defineView({ name: 'odd', description: 'odd', keyColumns: ['x'], sql: "SELECT 1 AS x, INTERVAL '1 day' AS gap" });
    await expect(renderViewRows([{ ...CATALOG_AXES[0]!, views: [odd] }])).rejects.toThrow(
      'view odd, column gap: no TypeScript type for the DuckDB type INTERVAL',
    );
  });
});
