import type { Column, Freshness, ViewRowsResponse } from '../contract/api-types.js';

/**
 * Renderers of a rows response from the row JSON texts DuckDB produced. JSON keeps the envelope
 * (`rows` last, so it streams); NDJSON is one row object per line; CSV has a header line, lists
 * and objects as JSON text in their cell, null as an empty cell. NDJSON and CSV carry their
 * freshness, total and paging in `X-Lattice-*` headers.
 */
export type Format = 'json' | 'ndjson' | 'csv';

export const CONTENT_TYPES: Record<Format, string> = {
  json: 'application/json; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
};

export interface Renderer {
  /** Bytes before the age value (JSON), or the opening bytes; `ageSplit` says which. */
  head: string;
  /** JSON only: bytes after the age value and up to the first row. */
  afterAge: string | null;
  rows(rows: string[]): string;
  tail: string;
}

function freshnessPrefix(f: Freshness): string {
  const { age_seconds: _age, ...rest } = f;
  const text = JSON.stringify(rest);
  return `${text.slice(0, -1)},"age_seconds":`;
}

export function jsonRenderer(envelope: Omit<ViewRowsResponse, 'rows'>): Renderer {
  const { view, freshness, ...rest } = envelope;
  const restText = JSON.stringify(rest);
  let first = true;
  return {
    head: `{"view":${JSON.stringify(view)},"freshness":${freshnessPrefix(freshness)}`,
    afterAge: `},${restText.slice(1, -1)},"rows":[`,
    rows(rows) {
      if (rows.length === 0) return '';
      const text = rows.join(',');
      if (first) {
        first = false;
        return text;
      }
      return `,${text}`;
    },
    tail: ']}',
  };
}

export function ndjsonRenderer(): Renderer {
  return {
    head: '',
    afterAge: null,
    rows: (rows) => (rows.length === 0 ? '' : `${rows.join('\n')}\n`),
    tail: '',
  };
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRenderer(columns: readonly Column[]): Renderer {
  const names = columns.map((c) => c.name);
  return {
    head: `${names.map(csvCell).join(',')}\r\n`,
    afterAge: null,
    rows(rows) {
      let out = '';
      for (const j of rows) {
        const row = JSON.parse(j) as Record<string, unknown>;
        out += `${names.map((n) => csvCell(row[n])).join(',')}\r\n`;
      }
      return out;
    },
    tail: '',
  };
}
