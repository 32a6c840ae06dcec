import { BadParameterError } from '../contract/errors.js';
import type { Format } from './render.js';

/** The format from ?format= (wins) or Accept; null when nothing acceptable is offered. */
export function negotiate(format: string | undefined, accept: string | undefined): Format | null {
  if (format !== undefined) {
    if (format === 'json' || format === 'ndjson' || format === 'csv') return format;
    throw new BadParameterError('format', `expected json, ndjson or csv, got ${JSON.stringify(format.slice(0, 40))}`);
  }
  if (!accept || accept.trim() === '') return 'json';
  const ranges = accept
    .split(',')
    .map((part) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type, q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { type } of ranges) {
    if (type === 'application/json' || type === 'application/*' || type === '*/*') return 'json';
    if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl' || type === 'application/x-jsonlines') return 'ndjson';
    if (type === 'text/csv' || type === 'text/*') return 'csv';
  }
  return null;
}
