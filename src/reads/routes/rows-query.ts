import { BadParameterError } from '../errors.js';
import { MAX_LIMIT, type ReadViewParams } from '../params.js';

/** The query-string syntax of GET /views/:name (the values are validated by the service layer, shared with MCP). */

const ROW_PARAMS = new Set(['limit', 'offset', 'order_by', 'format']);
const FILTER_PARAM = /^filter\[(.+)\]$/s;

/** Splits the query string of GET /views/:name into read parameters; unknown or repeated keys are 400. */
export function parseRowsQuery(query: unknown): { params: ReadViewParams; format: string | undefined } {
  const params: ReadViewParams = {};
  // No prototype: `filter[__proto__]=x` must be an own key (an unknown column), not a prototype set.
  const filters: Record<string, string> = Object.create(null) as Record<string, string>;
  let format: string | undefined;
  for (const [key, raw] of Object.entries((query ?? {}) as Record<string, string | string[]>)) {
    const shown = key.length > 64 ? `${key.slice(0, 64)}...` : key;
    if (Array.isArray(raw)) throw new BadParameterError(shown, 'given more than once');
    const filter = FILTER_PARAM.exec(key);
    if (filter) {
      filters[filter[1]!] = raw;
      continue;
    }
    if (!ROW_PARAMS.has(key)) {
      throw new BadParameterError(
        shown,
        `unknown parameter; known: limit (0..${MAX_LIMIT}), offset, order_by (col,-col), format (json, ndjson, csv), filter[<column>]=<value>` +
          (/^[a-z_][a-z0-9_]*$/.test(key) ? ` (to filter on a column named ${key}, write filter[${key}]=...)` : ''),
      );
    }
    if (key === 'limit') params.limit = raw;
    else if (key === 'offset') params.offset = raw;
    else if (key === 'order_by') params.order_by = raw;
    else format = raw;
  }
  if (Object.keys(filters).length > 0) params.filters = filters;
  return { params, format };
}
