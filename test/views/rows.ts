/** Reading a view's rows from a published file the way the exact-rows tests compare them. */
import { CATALOG } from '../../src/shared/catalog/index.js';
import type { ViewDefinition } from '../../src/shared/catalog/define.js';
import { sqlIdentifier } from '../../src/shared/snapshot.js';
import { queryFile } from '../helpers/snapshot.js';

export type Row = Record<string, unknown>;

const BY_NAME = new Map(CATALOG.map((v) => [v.name, v]));
export function view(name: string): ViewDefinition {
  const v = BY_NAME.get(name);
  if (!v) throw new Error(`no view ${name} in the catalog`);
  return v;
}

/** The view's columns (name, DuckDB type) in the published file. */
async function columnsOf(file: string, name: string): Promise<Array<{ name: string; type: string }>> {
  const rows = await queryFile<{ column_name: string; column_type: string }>(file, `DESCRIBE main.${sqlIdentifier(name)}`);
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

/** Every row of a view in key order, BIGINTs and HUGEINTs (which the JSON reader renders as strings) as numbers. */
export async function rowsOf(file: string, name: string): Promise<{ columns: string[]; rows: Row[] }> {
  const v = view(name);
  const columns = await columnsOf(file, name);
  const raw = await queryFile<Row>(file, `SELECT * FROM main.${sqlIdentifier(name)} ORDER BY ${v.keyColumns.map(sqlIdentifier).join(', ')}`);
  const bigint = new Set(columns.filter((c) => c.type === 'BIGINT' || c.type === 'HUGEINT').map((c) => c.name));
  const bigintList = new Set(columns.filter((c) => c.type === 'BIGINT[]').map((c) => c.name));
  const rows = raw.map((r) => {
    const out: Row = {};
    for (const [k, value] of Object.entries(r)) {
      if (bigint.has(k)) out[k] = value === null ? null : Number(value);
      else if (bigintList.has(k)) out[k] = value === null ? null : (value as unknown[]).map(Number);
      else out[k] = value;
    }
    return out;
  });
  return { columns: columns.map((c) => c.name), rows };
}

/** Rows written as a header and tuples, the way the expectations below read best. */
export function table(columns: string[], tuples: unknown[][]): { columns: string[]; rows: Row[] } {
  for (const t of tuples) if (t.length !== columns.length) throw new Error(`tuple ${JSON.stringify(t)} has ${t.length} values for ${columns.length} columns`);
  return { columns, rows: tuples.map((t) => Object.fromEntries(columns.map((c, i) => [c, t[i]]))) };
}
