import { sqlIdentifier } from '../../../shared/snapshot.js';
import { BadParameterError } from '../../contract/errors.js';
import { memoized } from '../memo.js';
import type { ColumnInfo } from '../generation.js';
import { boundAs, comparable, convertValue, typeInfo, type Category, type ScalarInput } from './column-types.js';

/**
 * Filter operators: what each means on each column family, and the SQL it becomes. One table for
 * HTTP (`filter[col][op]=v`) and MCP (`filters: {col: {op: v}}`).
 *
 * NULL follows SQL: a NULL cell matches no comparison (`eq`, `ne`, `gt`, `in`, `prefix`,
 * `contains`...); `isnull` is the way to ask for it (or not).
 */

export const FILTER_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'prefix', 'contains', 'isnull'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

export const MAX_IN_VALUES = 1000;

/** What each operator means, for error messages and the API documentation. */
export const OP_MEANING: Record<FilterOp, string> = {
  eq: 'equal (on a list column: the list contains the value)',
  ne: 'not equal (on a list column: the list does not contain the value)',
  gt: 'greater than',
  gte: 'greater than or equal',
  lt: 'less than',
  lte: 'less than or equal',
  in: 'one of a comma-separated list (a value with a comma or quote is written in double quotes, "" for a quote; on a list column: contains any of them)',
  prefix: 'text starting with the value',
  contains: 'text containing the value (on a list column: the list contains the value)',
  isnull: 'true: the cell is NULL; false: it is not',
};

const ORDERED: ReadonlySet<Category> = new Set(['integer', 'float', 'decimal', 'string', 'timestamp', 'timestamptz', 'date', 'time']);

/** One condition as applied: the value converted to the column's type (a list for `in`). */
export interface AppliedFilter {
  column: string;
  op: FilterOp;
  value: string | number | boolean | Array<string | number | boolean>;
}

/** One condition as a caller gave it, before any check. */
export interface FilterInput {
  column: string;
  /** One of FILTER_OPS when valid; checked by the planner. */
  op: string;
  value: ScalarInput | readonly ScalarInput[];
  /** The parameter to name in an error: `filter[col][op]` (HTTP) or `filters.col.op` (MCP). */
  param: string;
}

function isFilterOp(op: string): op is FilterOp {
  return (FILTER_OPS as readonly string[]).includes(op);
}

/** The operator of a filter, checked (after its column, so that a wrong column is named first). */
function checkedOp(f: FilterInput): FilterOp {
  if (!isFilterOp(f.op)) throw new BadParameterError(f.param, `unknown operator ${JSON.stringify(f.op.slice(0, 40))}; operators: ${FILTER_OPS.join(', ')}`);
  return f.op;
}

/** A filter of MCP `read_view`: a value (exact match; null matches NULL), or operators with their values. */
export type FilterSpec = ScalarInput | null | Readonly<Record<string, ScalarInput | readonly ScalarInput[]>>;

/** `{col: v, col2: {gte: a, lt: b}}` as filter inputs, each named `filters.col` / `filters.col.op`. */
export function filtersFromObject(spec: Readonly<Record<string, FilterSpec>>): FilterInput[] {
  const out: FilterInput[] = [];
  for (const [column, value] of Object.entries(spec)) {
    const param = `filters.${column}`;
    if (value === null) out.push({ column, op: 'isnull', value: true, param });
    else if (typeof value !== 'object') out.push({ column, op: 'eq', value, param });
    else if (Array.isArray(value)) throw new BadParameterError(param, 'a list of values needs an operator: {"in": [...]}');
    else {
      const ops = Object.entries(value);
      if (ops.length === 0) throw new BadParameterError(param, `no operator given; operators: ${FILTER_OPS.join(', ')}`);
      for (const [op, v] of ops) out.push({ column, op, value: v, param: `${param}.${op}` });
    }
  }
  return out;
}


/**
 * Splits `a,b,"c,d","e""f"` into values. Quotes are only special at the start of a value; an
 * unterminated quote or text after a closing quote is an error.
 */
function splitInList(param: string, text: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new BadParameterError(param, 'a quoted value is not closed: write "a,b" with a closing quote, and "" for a quote inside');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      if (i < text.length && text[i] !== ',') throw new BadParameterError(param, `unexpected text after a quoted value at character ${i + 1}; separate values with commas`);
      out.push(value);
    } else {
      const end = text.indexOf(',', i);
      out.push(end === -1 ? text.slice(i) : text.slice(i, end));
      i = end === -1 ? text.length : end;
    }
    if (out.length > MAX_IN_VALUES) throw new BadParameterError(param, `at most ${MAX_IN_VALUES} values`);
    if (i >= text.length) return out;
    i++; // the comma
  }
}

/**
 * The operators a column of this DuckDB type takes: the one rule the planner enforces and the
 * catalog publishes (`/views`: each column's `operators`), so a client such as the web UI offers
 * only what will be accepted. Remembered per type: a catalog has a handful of types and hundreds
 * of columns, and /views lists them all.
 */
export const operatorsFor = memoized((type: string): readonly FilterOp[] => {
  const info = typeInfo(type);
  if (info.category === 'list') return Object.freeze(['eq', 'ne', 'in', 'contains', 'isnull'] as const);
  const family = info.category as Category;
  return Object.freeze(
    FILTER_OPS.filter((op) => {
      if (op === 'prefix' || op === 'contains') return family === 'string';
      if (op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') return ORDERED.has(family);
      return true;
    }),
  );
}, 64);

/** Why an operator that operatorsFor leaves out does not apply, with what does. */
function whyNot(op: FilterOp, list: boolean, family: Category): string {
  if (list) return 'a list column takes eq / contains (the list contains the value), ne, in (contains any) or isnull';
  if (op === 'prefix' || op === 'contains') return `${op} works on text columns (VARCHAR) and, for contains, list columns; use eq, in or a range (gt, gte, lt, lte) here`;
  return `a ${family === 'boolean' ? 'boolean' : 'column of this type'} has no order; use eq, ne, in or isnull`;
}

function refuse(f: FilterInput, column: ColumnInfo, why: string): BadParameterError {
  return new BadParameterError(f.param, `operator ${f.op} does not apply to column ${column.name} (${column.type}): ${why}`);
}

function scalarOf(f: FilterInput): ScalarInput {
  if (Array.isArray(f.value)) throw new BadParameterError(f.param, `operator ${f.op} takes one value, got a list (only in takes several)`);
  return f.value as ScalarInput;
}

/**
 * The SQL condition of one filter on its column; pushes the bound values. Throws
 * BadParameterError naming the parameter, the column's type and an example when the operator does
 * not apply or the value does not convert.
 */
export function filterCondition(input: FilterInput, column: ColumnInfo, values: string[]): { sql: string; applied: AppliedFilter } {
  const f = { ...input, op: checkedOp(input) };
  const col = sqlIdentifier(column.name);
  const info = typeInfo(column.type);
  const bind = (text: string): string => {
    values.push(text);
    return `$${values.length}`;
  };

  if (f.op === 'isnull') {
    const c = convertValue(f.param, 'BOOLEAN (for isnull)', 'boolean', scalarOf(f));
    return { sql: c.applied === true ? `${col} IS NULL` : `${col} IS NOT NULL`, applied: { column: column.name, op: f.op, value: c.applied } };
  }

  const list = info.category === 'list';
  const family: Category = list ? info.element! : (info.category as Category);
  if (!operatorsFor(column.type).includes(f.op)) throw refuse(f, column, whyNot(f.op, list, family));
  const convertOne = (v: ScalarInput) => {
    const c = convertValue(f.param, list ? `${column.type.slice(0, -2)} (an element of ${column.type})` : column.type, family, v);
    return { sql: boundAs(family, bind(c.bound), c), applied: c.applied };
  };

  if (f.op === 'in') {
    const raw = Array.isArray(f.value) ? (f.value as readonly ScalarInput[]) : typeof f.value === 'string' ? splitInList(f.param, f.value) : [f.value as ScalarInput];
    if (raw.length === 0) throw new BadParameterError(f.param, 'in needs at least one value');
    if (raw.length > MAX_IN_VALUES) throw new BadParameterError(f.param, `at most ${MAX_IN_VALUES} values`);
    const items = raw.map(convertOne);
    const sqls = items.map((i) => i.sql).join(', ');
    const sql = list ? `list_has_any(${col}, [${sqls}])` : `${comparable(family, col)} IN (${sqls})`;
    return { sql, applied: { column: column.name, op: f.op, value: items.map((i) => i.applied) } };
  }

  if (list) {
    const one = convertOne(scalarOf(f));
    const has = family === 'other' ? `list_contains(list_transform(${col}, x -> CAST(x AS VARCHAR)), ${one.sql})` : `list_contains(${col}, ${one.sql})`;
    return { sql: f.op === 'ne' ? `NOT ${has}` : has, applied: { column: column.name, op: f.op, value: one.applied } };
  }

  const one = convertOne(scalarOf(f));
  const applied: AppliedFilter = { column: column.name, op: f.op, value: one.applied };
  const lhs = comparable(family, col);
  switch (f.op) {
    case 'prefix':
      return { sql: `starts_with(${col}, ${one.sql})`, applied };
    case 'contains':
      return { sql: `contains(${col}, ${one.sql})`, applied };
    case 'eq':
      return { sql: `${lhs} = ${one.sql}`, applied };
    case 'ne':
      return { sql: `${lhs} <> ${one.sql}`, applied };
    case 'gt':
      return { sql: `${lhs} > ${one.sql}`, applied };
    case 'gte':
      return { sql: `${lhs} >= ${one.sql}`, applied };
    case 'lt':
      return { sql: `${lhs} < ${one.sql}`, applied };
    case 'lte':
      return { sql: `${lhs} <= ${one.sql}`, applied };
  }
}
