import { sqlIdentifier, VIEW_SCHEMA } from '../shared/snapshot.js';
import { BadParameterError } from './errors.js';
import type { ColumnInfo, ViewInfo } from './generations.js';
import type { FilterValue } from './api-types.js';

/**
 * Read parameters of a view (shared by the HTTP route and the MCP `read_view` tool), their
 * validation against the view's real columns, and the SQL they become. Column names are checked
 * against the columns DuckDB reported for the view and then quoted; filter values are always bound
 * parameters; limit and offset are validated integers.
 *
 * Semantics:
 * - `limit`: 0..10000, default 100. `offset`: 0..1e12, default 0.
 * - `order_by`: comma-separated columns, `col` ascending, `-col` descending (a leading `+` is
 *   accepted). The view's key columns are always appended as tie-breakers (stable pagination);
 *   with no `order_by` the order is the key columns ascending.
 * - filters: exact match, `column = value`, the value converted to the column's type (an integer
 *   column takes an integer, a boolean `true`/`false`, a timestamp an ISO-8601 text). On a list
 *   column (`BIGINT[]`...) a filter means "the list contains the value". A null value (service
 *   callers only) means `IS NULL`. Several filters are ANDed.
 */

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;
export const MAX_OFFSET = 1_000_000_000_000;
export const MAX_FILTER_VALUE_LENGTH = 10_000;

export interface ReadViewParams {
  limit?: number | string;
  offset?: number | string;
  /** `"-session_count,tool_name"`, or the same terms as an array. */
  order_by?: string | readonly string[];
  /** Exact-match filters by column name. */
  filters?: Readonly<Record<string, FilterValue>>;
}

export interface OrderTerm {
  column: string;
  descending: boolean;
}

type Category = 'integer' | 'float' | 'decimal' | 'boolean' | 'string' | 'timestamp' | 'timestamptz' | 'date' | 'time' | 'other';

interface TypeInfo {
  category: Category;
  /** For `T[]`: the element's category. */
  element?: Category;
}

export interface AppliedFilter {
  column: string;
  /** The value as applied, converted to the column's type (integers beyond 2^53 stay strings). */
  value: FilterValue;
}

export interface ReadPlan {
  view: ViewInfo;
  limit: number;
  offset: number;
  /** Canonical terms as given by the caller (`-col` / `col`), tie-breakers not included. */
  orderBy: string[];
  filters: AppliedFilter[];
  /** A canonical string of everything that determines the rows (not the generation). */
  key: string;
  countSql: string;
  rowsSql: string;
  values: string[];
}


function categoryOf(base: string): Category {
  const t = base.trim().toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/.test(t)) return 'integer';
  if (/^(FLOAT|DOUBLE|REAL)$/.test(t)) return 'float';
  if (/^DECIMAL\(\d+,\s*\d+\)$/.test(t)) return 'decimal';
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'VARCHAR' || t === 'TEXT' || t === 'STRING') return 'string';
  if (t === 'TIMESTAMP WITH TIME ZONE' || t === 'TIMESTAMPTZ') return 'timestamptz';
  if (/^TIMESTAMP(_S|_MS|_NS)?$/.test(t)) return 'timestamp';
  if (t === 'DATE') return 'date';
  if (t === 'TIME') return 'time';
  return 'other';
}

export function typeInfo(type: string): TypeInfo {
  const t = type.trim();
  if (t.endsWith('[]')) {
    const inner = t.slice(0, -2);
    return { category: 'other', element: inner.endsWith('[]') ? 'other' : categoryOf(inner) };
  }
  return { category: categoryOf(t) };
}

const CAST_TARGET: Partial<Record<Category, string>> = {
  integer: 'HUGEINT',
  float: 'DOUBLE',
  decimal: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  timestamptz: 'TIMESTAMPTZ',
  date: 'DATE',
  time: 'TIME',
};

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;
const ISO_TIME = /^\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/;

/** Converts a filter value to its column's type; returns the bound text and the applied value. */
function convertValue(param: string, category: Category, value: FilterValue): { bound: string; applied: FilterValue } {
  if (value === null) throw new Error('unreachable');
  if (typeof value === 'string' && value.length > MAX_FILTER_VALUE_LENGTH) {
    throw new BadParameterError(param, `the value is longer than ${MAX_FILTER_VALUE_LENGTH} characters`);
  }
  switch (category) {
    case 'integer': {
      const text = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : '') : typeof value === 'string' ? value.trim() : '';
      if (!/^[+-]?\d{1,38}$/.test(text)) throw new BadParameterError(param, `expected an integer, got ${JSON.stringify(value)}`);
      const big = BigInt(text);
      const canonical = big.toString();
      const applied = big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(big) : canonical;
      return { bound: canonical, applied };
    }
    case 'float':
    case 'decimal': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n)) throw new BadParameterError(param, `expected a number, got ${JSON.stringify(value)}`);
      return { bound: String(n), applied: n };
    }
    case 'boolean': {
      const text = String(value).trim().toLowerCase();
      if (text !== 'true' && text !== 'false') throw new BadParameterError(param, `expected true or false, got ${JSON.stringify(value)}`);
      return { bound: text, applied: text === 'true' };
    }
    case 'date':
    case 'timestamp':
    case 'timestamptz':
    case 'time': {
      const text = typeof value === 'string' ? value.trim() : '';
      const re = category === 'date' ? ISO_DATE : category === 'time' ? ISO_TIME : ISO_TIMESTAMP;
      if (!re.test(text)) {
        const what = category === 'date' ? 'a date like 2026-01-31' : category === 'time' ? 'a time like 13:45:00' : 'an ISO-8601 timestamp like 2026-01-31T13:45:00Z';
        throw new BadParameterError(param, `expected ${what}, got ${JSON.stringify(value)}`);
      }
      return { bound: text, applied: text };
    }
    case 'string':
    case 'other':
      return { bound: String(value), applied: typeof value === 'string' ? value : String(value) };
  }
}

/** `col = value` (or list contains, or IS NULL) for one filter; pushes the bound value. */
function filterSql(param: string, column: ColumnInfo, value: FilterValue, values: string[]): { sql: string; applied: FilterValue } {
  const col = sqlIdentifier(column.name);
  if (value === null) return { sql: `${col} IS NULL`, applied: null };
  const info = typeInfo(column.type);
  if (info.element !== undefined) {
    const { bound, applied } = convertValue(param, info.element, value);
    values.push(bound);
    const target = CAST_TARGET[info.element];
    const p = `$${values.length}`;
    if (info.element === 'string') return { sql: `list_contains(${col}, ${p})`, applied };
    if (target === undefined) return { sql: `list_contains(list_transform(${col}, x -> CAST(x AS VARCHAR)), ${p})`, applied };
    return { sql: `list_contains(${col}, TRY_CAST(${p} AS ${target}))`, applied };
  }
  const { bound, applied } = convertValue(param, info.category, value);
  values.push(bound);
  const p = `$${values.length}`;
  const target = CAST_TARGET[info.category];
  if (info.category === 'string') return { sql: `${col} = ${p}`, applied };
  if (target === undefined) return { sql: `CAST(${col} AS VARCHAR) = ${p}`, applied };
  return { sql: `${col} = TRY_CAST(${p} AS ${target})`, applied };
}

/** The select-list expression rendering one column as JSON-safe (NaN/Infinity become null). */
function columnExpr(column: ColumnInfo): string {
  const col = sqlIdentifier(column.name);
  return typeInfo(column.type).category === 'float' ? `CASE WHEN isfinite(${col}) THEN ${col} END` : col;
}

function parseInteger(param: string, raw: number | string | undefined, def: number, max: number): number {
  if (raw === undefined) return def;
  const text = typeof raw === 'number' ? (Number.isInteger(raw) ? String(raw) : String(raw)) : raw.trim();
  if (!/^\d{1,16}$/.test(text)) {
    throw new BadParameterError(param, `expected an integer from 0 to ${max}, got ${JSON.stringify(typeof raw === 'string' && raw.length > 40 ? `${raw.slice(0, 40)}...` : raw)}`);
  }
  const n = Number(text);
  if (n > max) throw new BadParameterError(param, `expected an integer from 0 to ${max}, got ${n}`);
  return n;
}

function describeColumns(view: ViewInfo): string {
  return view.columns.map((c) => c.name).join(', ');
}

function short(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text);
}

export function parseOrderBy(view: ViewInfo, raw: string | readonly string[] | undefined): OrderTerm[] {
  if (raw === undefined) return [];
  const parts = typeof raw === 'string' ? raw.split(',') : [...raw];
  if (parts.length > view.columns.length) {
    throw new BadParameterError('order_by', `at most ${view.columns.length} terms (the view's columns), got ${parts.length}`);
  }
  const terms: OrderTerm[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    if (typeof part !== 'string') throw new BadParameterError('order_by', 'expected column names');
    const term = part.trim();
    const descending = term.startsWith('-');
    const name = descending || term.startsWith('+') ? term.slice(1) : term;
    if (name === '') throw new BadParameterError('order_by', `expected col or -col separated by commas, got ${short(typeof raw === 'string' ? raw : part)}`);
    if (!view.columns.some((c) => c.name === name)) {
      throw new BadParameterError('order_by', `unknown column ${short(name)} in view ${view.name}; columns: ${describeColumns(view)}`);
    }
    if (seen.has(name)) throw new BadParameterError('order_by', `column ${name} is given twice`);
    seen.add(name);
    terms.push({ column: name, descending });
  }
  return terms;
}

/** Validates the parameters against the view and builds its queries. Throws BadParameterError. */
export function planRead(view: ViewInfo, params: ReadViewParams, filterParam: (column: string) => string = (c) => `filters.${c}`): ReadPlan {
  const limit = parseInteger('limit', params.limit, DEFAULT_LIMIT, MAX_LIMIT);
  const offset = parseInteger('offset', params.offset, 0, MAX_OFFSET);
  const order = parseOrderBy(view, params.order_by);

  const values: string[] = [];
  const conditions: string[] = [];
  const filters: AppliedFilter[] = [];
  const entries = Object.entries(params.filters ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, value] of entries) {
    const param = filterParam(name);
    const column = view.columns.find((c) => c.name === name);
    if (!column) throw new BadParameterError(param, `unknown column ${short(name)} in view ${view.name}; columns: ${describeColumns(view)}`);
    if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new BadParameterError(param, 'expected a string, number, boolean or null');
    }
    const { sql, applied } = filterSql(param, column, value, values);
    conditions.push(sql);
    filters.push({ column: name, value: applied });
  }

  const table = `${VIEW_SCHEMA}.${sqlIdentifier(view.name)}`;
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  const orderTerms = [...order];
  for (const key of view.key_columns) {
    if (!orderTerms.some((t) => t.column === key) && view.columns.some((c) => c.name === key)) orderTerms.push({ column: key, descending: false });
  }
  const orderSql = orderTerms.length > 0 ? ` ORDER BY ${orderTerms.map((t) => `${sqlIdentifier(t.column)}${t.descending ? ' DESC' : ' ASC'}`).join(', ')}` : '';
  const struct = view.columns.map((c) => `${sqlIdentifier(c.name)} := ${columnExpr(c)}`).join(', ');
  const orderBy = order.map((t) => `${t.descending ? '-' : ''}${t.column}`);
  return {
    view,
    limit,
    offset,
    orderBy,
    filters,
    key: JSON.stringify([view.name, limit, offset, orderBy, filters.map((f) => [f.column, f.value])]),
    countSql: `SELECT count(*)::DOUBLE AS n FROM ${table}${where}`,
    rowsSql: `SELECT to_json(struct_pack(${struct}))::VARCHAR AS j FROM ${table}${where}${orderSql} LIMIT ${limit} OFFSET ${offset}`,
    values,
  };
}
