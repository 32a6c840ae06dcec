import { BadParameterError } from '../../contract/errors.js';

/**
 * What a read parameter's value means for a column of a given DuckDB type: which family the type
 * is in, how a caller's text converts to it, and the SQL that binds the converted text. Values are
 * always bound parameters; the SQL here only ever interpolates the fixed cast targets below.
 */

export type Category = 'integer' | 'float' | 'decimal' | 'boolean' | 'string' | 'timestamp' | 'timestamptz' | 'date' | 'time' | 'other';

interface TypeInfo {
  /** The column's family; `list` for `T[]` (then `element` is the element's family). */
  category: Category | 'list';
  element?: Category;
}

/** A value as a caller sends it (a query-string text, or a JSON scalar from MCP). */
export type ScalarInput = string | number | boolean;

const MAX_VALUE_LENGTH = 10_000;

const HUGEINT_BOUND = 10n ** 38n;

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
    return { category: 'list', element: inner.endsWith('[]') ? 'other' : categoryOf(inner) };
  }
  return { category: categoryOf(t) };
}

/** What a value of the family looks like, for error messages. */
const EXAMPLE: Record<Category, string> = {
  integer: 'an integer like 42',
  float: 'a number like 1.5',
  decimal: 'a number like 1.5',
  boolean: 'true or false',
  string: 'any text',
  timestamp: 'an ISO-8601 timestamp like 2026-01-31T13:45:00Z (an offset converts to UTC; none means UTC) or a date like 2026-01-31',
  timestamptz: 'an ISO-8601 timestamp like 2026-01-31T13:45:00Z',
  date: 'a date like 2026-01-31',
  time: 'a time like 13:45:00',
  other: 'its text form',
};

const ISO_DATE = /^(\d{4,6})-(\d{2})-(\d{2})$/;
/** A date, or a date and a time with an optional zone (`Z` or an offset); `t`/`z` in either case. */
const ISO_TIMESTAMP = /^(\d{4,6})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;
const ISO_TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?$/;
/** DuckDB's own words for the ends of time (they appear in its text of a value, so in cursors). */
const INFINITE = /^-?infinity$/;

/** A calendar date that exists (2026-02-30 does not); years before 100 are years, not 1900+. */
function realDate(y: string, m: string, d: string): boolean {
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(m) - 1, Number(d));
  return date.getUTCFullYear() === Number(y) && date.getUTCMonth() === Number(m) - 1 && date.getUTCDate() === Number(d);
}

/** `+05`, `+0530`, `-08:00`: hours up to 15, minutes up to 59 (what any real zone uses). */
function realOffset(zone: string): boolean {
  if (zone.toUpperCase() === 'Z') return true;
  const digits = zone.slice(1).replace(':', '');
  return Number(digits.slice(0, 2)) <= 15 && (digits.length === 2 || Number(digits.slice(2)) <= 59);
}

function realClock(h = '0', mi = '0', s = '0'): boolean {
  return Number(h) < 24 && Number(mi) < 60 && Number(s) < 60;
}

/** A converted value: the text bound to the query, and the value reported back (typed). */
interface Converted {
  bound: string;
  applied: string | number | boolean;
  /** A timestamp given with an offset (or Z): bound through TIMESTAMPTZ and converted to UTC. */
  withOffset?: boolean;
}

function shown(value: ScalarInput): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

function mismatch(param: string, type: string, category: Category, value: ScalarInput): BadParameterError {
  return new BadParameterError(param, `column type ${type} expects ${EXAMPLE[category]}, got ${shown(value)}`);
}

/** Converts a value to the column's family (`type` is the column's DuckDB type, for messages). */
export function convertValue(param: string, type: string, category: Category, value: ScalarInput): Converted {
  if (typeof value === 'string' && value.length > MAX_VALUE_LENGTH) {
    throw new BadParameterError(param, `the value is longer than ${MAX_VALUE_LENGTH} characters`);
  }
  const text = typeof value === 'string' ? value.trim() : String(value);
  switch (category) {
    case 'integer': {
      if (typeof value === 'number' ? !Number.isInteger(value) : !/^[+-]?\d{1,38}$/.test(text)) throw mismatch(param, type, category, value);
      const big = BigInt(typeof value === 'number' ? value : text);
      // What HUGEINT holds (38 digits); the query string is bounded by its pattern, a JSON number here.
      if (big >= HUGEINT_BOUND || big <= -HUGEINT_BOUND) throw new BadParameterError(param, `column type ${type} expects ${EXAMPLE.integer} of at most 38 digits, got ${shown(value)}`);
      const safe = big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER);
      return { bound: big.toString(), applied: safe ? Number(big) : big.toString() };
    }
    case 'float':
    case 'decimal': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(n)) throw mismatch(param, type, category, value);
      return { bound: typeof value === 'number' ? String(value) : text, applied: n };
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower !== 'true' && lower !== 'false') throw mismatch(param, type, category, value);
      return { bound: lower, applied: lower === 'true' };
    }
    case 'date': {
      if (typeof value === 'string' && INFINITE.test(text)) return { bound: text, applied: text };
      const m = ISO_DATE.exec(text);
      if (typeof value !== 'string' || !m || !realDate(m[1]!, m[2]!, m[3]!)) throw mismatch(param, type, category, value);
      return { bound: text, applied: text };
    }
    case 'timestamp':
    case 'timestamptz': {
      if (typeof value === 'string' && INFINITE.test(text)) return { bound: text, applied: text };
      const m = ISO_TIMESTAMP.exec(text);
      const [, y, mo, d, h, mi, sec, fraction, zone] = m ?? [];
      if (typeof value !== 'string' || !m || !realDate(y!, mo!, d!) || !realClock(h, mi, sec) || (zone !== undefined && !realOffset(zone))) {
        throw mismatch(param, type, category, value);
      }
      // Bound in the one spelling DuckDB reads: `T` as a space, `Z` upper-case.
      const clock = h === undefined ? '' : ` ${h}:${mi}${sec === undefined ? '' : `:${sec}${fraction ?? ''}`}`;
      const bound = `${y}-${mo}-${d}${clock}${zone === undefined ? '' : zone.toUpperCase()}`;
      return { bound, applied: text, withOffset: zone !== undefined };
    }
    case 'time': {
      const m = ISO_TIME.exec(text);
      if (typeof value !== 'string' || !m || !realClock(m[1], m[2], m[3])) throw mismatch(param, type, category, value);
      return { bound: text, applied: text };
    }
    case 'string':
    case 'other':
      return { bound: String(value), applied: String(value) };
  }
}

/**
 * The SQL of a bound value `$n` as the column's family. Integers go through HUGEINT so that a
 * value beyond the column's range compares (and matches nothing) instead of failing the query. A
 * timestamp with an offset is an instant: it is converted to UTC, the zone TIMESTAMP columns hold
 * (DuckDB's own cast to TIMESTAMP would drop the offset). Values were validated by convertValue,
 * so the casts cannot fail.
 */
export function boundAs(category: Category, placeholder: string, converted: Converted): string {
  switch (category) {
    case 'integer':
      return `CAST(${placeholder} AS HUGEINT)`;
    case 'float':
    case 'decimal':
      return `CAST(${placeholder} AS DOUBLE)`;
    case 'boolean':
      return `CAST(${placeholder} AS BOOLEAN)`;
    case 'date':
      return `CAST(${placeholder} AS DATE)`;
    case 'timestamp':
      return converted.withOffset ? `timezone('UTC', CAST(${placeholder} AS TIMESTAMPTZ))` : `CAST(${placeholder} AS TIMESTAMP)`;
    case 'timestamptz':
      return `CAST(${placeholder} AS TIMESTAMPTZ)`;
    case 'time':
      return `CAST(${placeholder} AS TIME)`;
    case 'string':
    case 'other':
      return placeholder;
  }
}

/** A column of a family that has no comparison of its own is compared as text. */
export function comparable(category: Category, column: string): string {
  return category === 'other' ? `CAST(${column} AS VARCHAR)` : column;
}
