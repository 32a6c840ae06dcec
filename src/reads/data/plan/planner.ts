import { sqlIdentifier, VIEW_SCHEMA } from '../../../shared/snapshot.js';
import { BadParameterError } from '../../contract/errors.js';
import type { ColumnInfo, ViewInfo } from '../generation.js';
import { boundAs, convertValue, typeInfo, type Category } from './column-types.js';
import { decodeCursor, encodeCursor, queryDigest } from './cursor.js';
import { filterCondition, filtersFromObject, type AppliedFilter, type FilterInput, type FilterSpec } from './filters.js';

/**
 * Read parameters -> a validated plan -> SQL, for the HTTP route and the MCP `read_view` tool
 * alike (HTTP turns its query string into ReadViewParams first: routes/rows-query.ts; MCP's
 * arguments are ReadViewParams).
 * Column names are checked against the columns DuckDB reported for the view and then quoted;
 * values are always bound parameters; limit and offset are validated integers.
 *
 * - `limit` 0..10000 (default 100), `offset` 0..1e12 (default 0).
 * - `order_by`: `col` ascending, `-col` descending; the view's key columns always follow as
 *   tie-breakers, so the order is total and pages are stable. NULLs sort last either way.
 * - `filters`: see filters.ts; several are ANDed.
 * - `columns`: the columns to return, in that order; key columns not named are appended.
 * - `after`: a keyset cursor (cursor.ts): the page starts after the row it names, with no OFFSET
 *   scan. Not together with `offset`.
 * - `count`: `exact` (default) counts the matching rows; `none` skips the count.
 */

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;
export const MAX_OFFSET = 1_000_000_000_000;

export interface ReadViewParams {
  limit?: number | string;
  offset?: number | string;
  /** `"-session_count,tool_name"`, or the same terms as an array. */
  order_by?: string | readonly string[];
  /** As parsed from a query string (routes/rows-query.ts), or by column: `{col: v, col2: {gte: a, lt: b}}` (v null: IS NULL). */
  filters?: readonly FilterInput[] | Readonly<Record<string, FilterSpec>>;
  /** `"tool_name,session_count"`, or the same names as an array. */
  columns?: string | readonly string[];
  after?: string;
  count?: string;
}

type CountMode = 'exact' | 'none';

interface OrderTerm {
  column: string;
  descending: boolean;
}

export interface ReadPlan {
  view: ViewInfo;
  limit: number;
  offset: number;
  /** The sort as given by the caller (`-col` / `col`), tie-breakers not included. */
  orderBy: string[];
  filters: AppliedFilter[];
  /** The columns returned, in order. */
  columns: ColumnInfo[];
  /** Whether the caller chose the columns (`columns=`), or all are returned. */
  columnsGiven: boolean;
  count: CountMode;
  /** Binds cursors to this sequence of rows (view, full sort, filters). */
  digest: string;
  /** A canonical string of everything that determines the answer (not the generation). */
  key: string;
  /**
   * What the page says about itself, in one query before the rows (so that headers and the JSON
   * head carry it even when the rows then stream): `n`, the matching rows over all pages (NULL
   * with `count=none`), and `ks`, the sort values (a JSON array of texts) of the page's last row
   * and of the row after it, when they exist. Null when there is nothing to ask (limit 0, no count).
   */
  infoSql: string | null;
  infoValues: string[];
  /** The page's rows, one column: a row as JSON. */
  rowsSql: string;
  values: string[];
}

function short(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text);
}

function describeColumns(view: ViewInfo): string {
  return view.columns.map((c) => c.name).join(', ');
}

function unknownColumn(param: string, name: string, view: ViewInfo): BadParameterError {
  return new BadParameterError(param, `unknown column ${short(name)} in view ${view.name}; columns: ${describeColumns(view)}`);
}

/** A whole-number parameter in min..max (`def` when absent). Throws BadParameterError naming `param`. */
export function parseInteger(param: string, raw: number | string | undefined, def: number, max: number, min = 0): number {
  if (raw === undefined) return def;
  const text = typeof raw === 'number' ? String(raw) : raw.trim();
  if (!/^\d{1,16}$/.test(text)) {
    throw new BadParameterError(param, `expected an integer from ${min} to ${max}, got ${JSON.stringify(typeof raw === 'string' && raw.length > 40 ? `${raw.slice(0, 40)}...` : raw)}`);
  }
  const n = Number(text);
  if (n < min || n > max) throw new BadParameterError(param, `expected an integer from ${min} to ${max}, got ${n}`);
  return n;
}

/** Comma-separated text or an array of names, each non-empty, at most one per column. */
function nameList(param: string, raw: string | readonly string[], view: ViewInfo): string[] {
  const parts = typeof raw === 'string' ? raw.split(',') : [...raw];
  if (parts.length > view.columns.length) {
    throw new BadParameterError(param, `at most ${view.columns.length} terms (the view's columns), got ${parts.length}`);
  }
  return parts.map((p) => {
    if (typeof p !== 'string') throw new BadParameterError(param, 'expected column names');
    return p.trim();
  });
}

function parseOrderBy(view: ViewInfo, raw: string | readonly string[] | undefined): OrderTerm[] {
  if (raw === undefined) return [];
  const terms: OrderTerm[] = [];
  for (const term of nameList('order_by', raw, view)) {
    const descending = term.startsWith('-');
    const name = descending || term.startsWith('+') ? term.slice(1) : term;
    if (name === '') throw new BadParameterError('order_by', `expected col or -col separated by commas, got ${short(typeof raw === 'string' ? raw : term)}`);
    const column = view.columns.find((c) => c.name === name);
    if (!column) throw unknownColumn('order_by', name, view);
    if (typeInfo(column.type).category === 'list') throw new BadParameterError('order_by', `column ${name} is a list (${column.type}) and cannot be sorted on`);
    if (terms.some((t) => t.column === name)) throw new BadParameterError('order_by', `column ${name} is given twice`);
    terms.push({ column: name, descending });
  }
  return terms;
}

function parseColumns(view: ViewInfo, raw: string | readonly string[] | undefined): ColumnInfo[] {
  if (raw === undefined) return view.columns;
  const picked: ColumnInfo[] = [];
  for (const name of nameList('columns', raw, view)) {
    if (name === '') throw new BadParameterError('columns', `expected column names separated by commas, got ${short(typeof raw === 'string' ? raw : name)}`);
    const column = view.columns.find((c) => c.name === name);
    if (!column) throw unknownColumn('columns', name, view);
    if (picked.includes(column)) throw new BadParameterError('columns', `column ${name} is given twice`);
    picked.push(column);
  }
  // Rows stay identifiable: the key is always there.
  for (const key of view.key_columns) {
    const column = view.columns.find((c) => c.name === key);
    if (column && !picked.includes(column)) picked.push(column);
  }
  return picked;
}

function parseCount(raw: string | undefined): CountMode {
  if (raw === undefined || raw === 'exact') return 'exact';
  if (raw === 'none') return 'none';
  throw new BadParameterError('count', `expected exact (the default) or none, got ${short(raw)}`);
}

/** The select-list expression rendering one column as JSON-safe (NaN/Infinity become null). */
function columnExpr(column: ColumnInfo): string {
  const col = sqlIdentifier(column.name);
  return typeInfo(column.type).category === 'float' ? `CASE WHEN isfinite(${col}) THEN ${col} END` : col;
}

const NON_FINITE = /^-?(inf|infinity|nan)$/i;

/**
 * "Strictly after the cursor's row" in the full sort order, as SQL: the first term after, or
 * equal on it and the second after, and so on. NULLs sort last in both directions.
 */
function keysetCondition(view: ViewInfo, order: OrderTerm[], keys: ReadonlyArray<string | null>, values: string[]): string {
  const equal: string[] = [];
  const disjuncts: string[] = [];
  order.forEach((term, i) => {
    const column = view.columns.find((c) => c.name === term.column)!;
    const col = sqlIdentifier(column.name);
    const raw = keys[i]!;
    if (raw === null) {
      // Nothing sorts after NULL: only rows equal on it can follow.
      equal.push(`${col} IS NULL`);
      return;
    }
    const category = typeInfo(column.type).category as Category;
    let bound: string;
    if (category === 'float' && NON_FINITE.test(raw)) {
      values.push(raw);
      bound = `CAST($${values.length} AS DOUBLE)`;
    } else {
      const converted = convertValue('after', column.type, category, raw);
      values.push(converted.bound);
      bound = boundAs(category, `$${values.length}`, converted);
    }
    disjuncts.push([...equal, `(${col} ${term.descending ? '<' : '>'} ${bound} OR ${col} IS NULL)`].join(' AND '));
    equal.push(`${col} = ${bound}`);
  });
  return disjuncts.length === 0 ? 'false' : disjuncts.map((d) => `(${d})`).join(' OR ');
}

function isInputList(filters: NonNullable<ReadViewParams['filters']>): filters is readonly FilterInput[] {
  return Array.isArray(filters);
}

function filterInputs(filters: ReadViewParams['filters']): FilterInput[] {
  if (filters === undefined) return [];
  return isInputList(filters) ? [...filters] : filtersFromObject(filters);
}

/** Validates the parameters against the view and builds its queries. Throws BadParameterError. */
export function planRead(view: ViewInfo, params: ReadViewParams): ReadPlan {
  const limit = parseInteger('limit', params.limit, DEFAULT_LIMIT, MAX_LIMIT);
  const offset = parseInteger('offset', params.offset, 0, MAX_OFFSET);
  const given = parseOrderBy(view, params.order_by);
  const columns = parseColumns(view, params.columns);
  const count = parseCount(params.count);
  if (params.after !== undefined && params.offset !== undefined) {
    throw new BadParameterError('after', 'after and offset cannot be combined: after resumes where the previous page ended; drop offset');
  }

  const values: string[] = [];
  const conditions: string[] = [];
  const filters: AppliedFilter[] = [];
  const inputs = filterInputs(params.filters).sort((a, b) => (a.column < b.column ? -1 : a.column > b.column ? 1 : a.op < b.op ? -1 : a.op > b.op ? 1 : 0));
  for (const input of inputs) {
    const column = view.columns.find((c) => c.name === input.column);
    if (!column) throw unknownColumn(input.param, input.column, view);
    const { sql, applied } = filterCondition(input, column, values);
    conditions.push(sql);
    filters.push(applied);
  }

  const order = [...given];
  for (const key of view.key_columns) {
    if (!order.some((t) => t.column === key) && view.columns.some((c) => c.name === key)) order.push({ column: key, descending: false });
  }
  const digest = queryDigest([view.name, order.map((t) => [t.column, t.descending]), filters.map((f) => [f.column, f.op, f.value])]);
  const filterValues = [...values];
  const pageConditions = [...conditions];
  if (params.after !== undefined) {
    pageConditions.push(keysetCondition(view, order, decodeCursor(params.after, digest, order.length), values));
  }

  const table = `${VIEW_SCHEMA}.${sqlIdentifier(view.name)}`;
  const where = (c: string[]) => (c.length > 0 ? ` WHERE ${c.map((x) => `(${x})`).join(' AND ')}` : '');
  const orderSql = order.length > 0 ? ` ORDER BY ${order.map((t) => `${sqlIdentifier(t.column)} ${t.descending ? 'DESC' : 'ASC'} NULLS LAST`).join(', ')}` : '';
  const struct = columns.map((c) => `${sqlIdentifier(c.name)} := ${columnExpr(c)}`).join(', ');
  const sortValues = `to_json([${order.map((t) => `CAST(${sqlIdentifier(t.column)} AS VARCHAR)`).join(', ')}])::VARCHAR`;
  const countSql = count === 'none' ? 'NULL' : `(SELECT count(*) FROM ${table}${where(conditions)})::DOUBLE`;
  // The last row of the page and the one after it, in that order; without a sort there is no
  // cursor. The aliases cannot be a view's column names (an ORDER BY would bind to the alias).
  const peekSql =
    limit === 0 || order.length === 0
      ? 'NULL'
      : `(SELECT list(__lattice_k ORDER BY __lattice_i) FROM (SELECT __lattice_k, row_number() OVER () AS __lattice_i FROM (SELECT ${sortValues} AS __lattice_k FROM ${table}${where(pageConditions)}${orderSql} LIMIT 2 OFFSET ${offset + limit - 1})))`;
  const orderBy = given.map((t) => `${t.descending ? '-' : ''}${t.column}`);
  return {
    view,
    limit,
    offset,
    orderBy,
    filters,
    columns,
    columnsGiven: params.columns !== undefined,
    count,
    digest,
    // columnsGiven too: it decides whether next_url repeats `columns=`.
    key: JSON.stringify([view.name, limit, offset, orderBy, filters, columns.map((c) => c.name), params.columns !== undefined, count, params.after ?? null]),
    infoSql: countSql === 'NULL' && peekSql === 'NULL' ? null : `SELECT ${countSql} AS n, ${peekSql} AS ks`,
    // DuckDB refuses values a statement does not use: without the peek, only the filters' are bound.
    infoValues: peekSql === 'NULL' ? filterValues : values,
    rowsSql: `SELECT to_json(struct_pack(${struct}))::VARCHAR AS __lattice_j FROM ${table}${where(pageConditions)}${orderSql} LIMIT ${limit} OFFSET ${offset}`,
    values,
  };
}

/** What a page of rows says about itself: the matching rows over all pages, and the next page's cursor. */
export interface PageInfo {
  total: number | null;
  next: string | null;
}

/** The page info from the row `infoSql` answered (absent when the plan has no infoSql). */
export function pageInfoOf(plan: ReadPlan, row: { n?: unknown; ks?: unknown } | undefined): PageInfo {
  const total = typeof row?.n === 'number' ? row.n : null;
  const keys = Array.isArray(row?.ks) ? (row.ks as unknown[]) : [];
  const last = keys[0];
  return { total, next: keys.length === 2 && typeof last === 'string' ? encodeCursor(plan.digest, JSON.parse(last) as Array<string | null>) : null };
}
