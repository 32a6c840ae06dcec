import { BadParameterError } from '../../contract/errors.js';
import { FILTER_OPS, type FilterInput } from '../../data/plan/filters.js';
import { MAX_LIMIT, type ReadViewParams } from '../../data/plan/planner.js';

/**
 * The HTTP query string of GET /views/:name (`filter[col]=v`, `filter[col][op]=v`, `columns=a,b`...)
 * as the planner's ReadViewParams; the values are validated by the planner (plan/), shared with
 * MCP, whose `read_view` arguments are ReadViewParams already.
 */

const FILTER_PARAM = /^filter\[([^\]]*)\](?:\[([^\]]*)\])?$/;

function shownKey(key: string): string {
  return key.length > 64 ? `${key.slice(0, 64)}...` : key;
}

/** Splits the query string of GET /views/:name; unknown or repeated keys are a 400 naming them. */
export function parseRowsQuery(query: unknown): { params: ReadViewParams; format: string | undefined } {
  const params: ReadViewParams = {};
  const filters: FilterInput[] = [];
  let format: string | undefined;
  for (const [key, raw] of Object.entries((query ?? {}) as Record<string, string | string[]>)) {
    const shown = shownKey(key);
    if (Array.isArray(raw)) throw new BadParameterError(shown, 'given more than once');
    const filter = FILTER_PARAM.exec(key);
    if (filter) {
      filters.push({ column: filter[1]!, op: filter[2] ?? 'eq', value: raw, param: shown });
      continue;
    }
    switch (key) {
      case 'limit':
      case 'offset':
      case 'order_by':
      case 'columns':
      case 'after':
      case 'count':
        params[key] = raw;
        break;
      case 'format':
        format = raw;
        break;
      default:
        throw new BadParameterError(
          shown,
          `unknown parameter; known: limit (0..${MAX_LIMIT}), offset, order_by (col,-col), columns (a,b), after (a cursor), count (exact, none), format (json, ndjson, csv), filter[<column>]=<value>, filter[<column>][<op>]=<value> with op one of ${FILTER_OPS.join(', ')}` +
            (/^[a-z_][a-z0-9_]*$/.test(key) ? ` (to filter on a column named ${key}, write filter[${key}]=...)` : ''),
        );
    }
  }
  if (filters.length > 0) params.filters = filters;
  return { params, format };
}
