import type { AppliedFilter } from './filters.js';
import { DEFAULT_LIMIT, type ReadPlan } from './planner.js';

/**
 * The URL of the next page of a plan (GET /views/{name}, relative to the server), for the body's
 * `next_url` and the `Link: rel="next"` header. Built from the plan, not from the request, so HTTP
 * and MCP answers carry the same canonical URL.
 */

/** One value of an `in` list, quoted when it holds a comma or a quote or is blank-padded. */
function inItem(value: string | number | boolean): string {
  const text = String(value);
  return /[",]|^\s|\s$/.test(text) || text === '' ? `"${text.replace(/"/g, '""')}"` : text;
}

function filterValue(f: AppliedFilter): string {
  return Array.isArray(f.value) ? f.value.map(inItem).join(',') : String(f.value);
}

export function nextUrl(plan: ReadPlan, next: string, format?: string): string {
  const parts: string[] = [];
  const add = (key: string, value: string) => parts.push(`${key}=${encodeURIComponent(value)}`);
  if (plan.limit !== DEFAULT_LIMIT) add('limit', String(plan.limit));
  if (plan.orderBy.length > 0) add('order_by', plan.orderBy.join(','));
  for (const f of plan.filters) add(`filter[${encodeURIComponent(f.column)}][${f.op}]`, filterValue(f));
  if (plan.columnsGiven) add('columns', plan.columns.map((c) => c.name).join(','));
  if (plan.count === 'none') add('count', 'none');
  if (format !== undefined) add('format', format);
  add('after', next);
  return `/views/${encodeURIComponent(plan.view.name)}?${parts.join('&')}`;
}
