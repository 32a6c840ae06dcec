import { DuckDBInstance } from '@duckdb/node-api';
import { BASE_DDL } from '../../src/shared/base-tables.js';
import type { ViewDefinition } from '../../src/shared/catalog/define.js';
import { CATALOG_AXES, type CatalogAxis } from '../../src/shared/catalog/index.js';
import { errorMessage } from '../../src/shared/errors.js';

export interface ViewColumn {
  name: string;
  /** DuckDB's type name, e.g. BIGINT, BIGINT[], DOUBLE, DATE, TIMESTAMP, VARCHAR. */
  type: string;
}

/**
 * The output columns of each view, from DuckDB itself: an in-memory database with the base tables
 * (empty), and `DESCRIBE` of each view's SQL, in catalog order (each view then created, empty, for
 * the views that read it). Throws if a view's SQL does not bind.
 */
export async function describeViews(views: readonly ViewDefinition[]): Promise<Map<string, ViewColumn[]>> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const conn = await instance.connect();
    try {
      for (const ddl of BASE_DDL) await conn.run(ddl);
      await conn.run("SET VARIABLE timezone = 'UTC'");
      const out = new Map<string, ViewColumn[]>();
      for (const view of views) {
        let reader;
        try {
          reader = await conn.runAndReadAll(`DESCRIBE ${view.sql}`);
        } catch (err) {
          throw new Error(`view ${view.name}: ${errorMessage(err)}`, { cause: err });
        }
        // an empty table of it, for the views that read it
        await conn.run(`CREATE TABLE main.${view.name} AS ${view.sql}`);
        const rows = reader.getRowObjectsJson() as Array<{ column_name: string; column_type: string }>;
        out.set(
          view.name,
          rows.map((r) => ({ name: r.column_name, type: r.column_type })),
        );
      }
      return out;
    } finally {
      conn.disconnectSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** The SQL as written, without the indentation it has inside the TypeScript source. */
function dedent(sql: string): string {
  const lines = sql.split('\n');
  const rest = lines.slice(1).filter((l) => l.trim() !== '');
  const indent = Math.min(...rest.map((l) => l.length - l.trimStart().length));
  if (!Number.isFinite(indent) || indent === 0) return sql;
  return [lines[0], ...lines.slice(1).map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))].join('\n');
}

function interval(seconds: number): string {
  if (seconds === 0) return 'every load';
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds >= 120) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/**
 * docs/views.md: the catalog for a person or an agent, generated from the definitions (what each
 * view answers, its key, refresh interval, columns with types, and the SQL). Deterministic: no
 * dates, so a test can regenerate it and compare.
 */
export async function renderViewsDoc(axes: readonly CatalogAxis[] = CATALOG_AXES): Promise<string> {
  const views = axes.flatMap((a) => a.views);
  const columns = await describeViews(views);
  const out: string[] = [];
  out.push('# Views');
  out.push('');
  out.push('<!-- Generated from src/shared/catalog/ by `npm run generate`. Do not edit by hand: a test fails when this file is stale. -->');
  out.push('');
  out.push(
    `session-lattice materializes ${views.length} views over the base tables it loads (schema \`base\`: from repo-recall ` +
      "`sessions`, `session_repos`, `tool_calls`, `stop_reasons` and `session_models`; from Claude Code's transcripts `messages`, one row per API response; and the price table `model_prices`; see src/shared/base-tables.ts). " +
      'Each view is a table in schema `main` of the published file (`~/.session-lattice/session-lattice.duckdb`), ' +
      'recomputed with every load that changed base data (a view with a refresh interval: once that has passed), when its ' +
      'definition, the time zone or the prices it reads change, and when its rows expire (`usage_blocks`, when an active ' +
      'block ends). `pull` recomputes every view whatever its interval. Its rows are stored in key order.',
  );
  out.push('');
  out.push('Conventions for every view:');
  out.push('');
  out.push(
    "- Counts of rows are `BIGINT`. Sums of upstream's counts (tokens, messages, calls, stops), over sessions or over a " +
      "session's tools, are `HUGEINT`, which no sum of accepted sessions can overflow: the puller refuses a session with a " +
      "count above 10^12. A session's own counters in `session_facts` stay `BIGINT` (its `total_tokens` is at most 4 * 10^12). " +
      'Both render as exact JSON numbers. Ratios are `DOUBLE` rounded as each view says, session id lists are `BIGINT[]` in ' +
      'ascending order.',
  );
  out.push(
    '- Instants are UTC `TIMESTAMP`s (a column named `*_local` is wall-clock time in the configured zone). Calendar buckets (days, ' +
      'ISO weeks from Monday, months, hours of day, weekdays) are cut in the configured time zone (`SESSION_LATTICE_TIMEZONE`, ' +
      "daylight saving time included), recorded in `lattice.meta.timezone` and every response's `freshness.timezone`; " +
      "in the `query` tool, `getvariable('timezone')` holds it. No output depends on the reader's own zone.",
  );
  out.push('- The key columns identify a row (unique together, never NULL) and are the order rows are stored in.');
  out.push("- Names (tools, models, stop reasons, repos, paths) keep upstream's exact spelling and case.");
  out.push(
    '- A row the loader rejects (a required field missing or mistyped, a repeated id, not an object) appears in no view. A session whose tool-call or stop-reason count string is empty has none; one whose string cannot be read is kept, with `tool_counts_ok` / `stop_reasons_ok` false in `base.sessions` and `session_facts`.',
  );
  out.push(
    "- Each view refreshes on its own interval, so two views of one published file can reflect different loads: `lattice.views` gives each view's `watermark` (the load it was computed from) and `materialized_at`. A view whose SQL fails keeps its previous rows and reports `last_error` there, and is tried again with the next load (or a new definition, zone or price table), not on every tick. A view that reads another (most read `session_facts`, where each session's local day and cost are worked out once) is redone whenever that one is, and fails with it.",
  );
  out.push('');
  out.push('| view | axis | key | refresh | answers |');
  out.push('|---|---|---|---|---|');
  for (const axis of axes) {
    for (const v of axis.views) {
      const question = v.description.split('?')[0];
      out.push(
        `| [\`${v.name}\`](#${v.name}) | ${axis.title} | ${v.keyColumns.map((k) => `\`${k}\``).join(', ')} | ${interval(v.refreshIntervalSeconds)} | ${question}? |`,
      );
    }
  }
  for (const axis of axes) {
    out.push('');
    out.push(`## ${axis.title}`);
    out.push('');
    out.push(axis.summary);
    for (const v of axis.views) {
      out.push('');
      out.push(`### ${v.name}`);
      out.push('');
      out.push(v.description);
      out.push('');
      const reads = v.readsViews.length > 0 ? ` Reads: ${v.readsViews.map((r) => `[\`${r}\`](#${r})`).join(', ')} (redone whenever it is).` : '';
      out.push(`Key: ${v.keyColumns.map((k) => `\`${k}\``).join(', ')}. Refresh interval: ${interval(v.refreshIntervalSeconds)}.${reads}`);
      out.push('');
      out.push('| column | type |');
      out.push('|---|---|');
      for (const c of columns.get(v.name) ?? []) {
        const key = v.keyColumns.includes(c.name) ? ' (key)' : '';
        out.push(`| \`${c.name}\`${key} | \`${c.type}\` |`);
      }
      out.push('');
      out.push('<details><summary>SQL</summary>');
      out.push('');
      out.push('```sql');
      out.push(dedent(v.sql));
      out.push('```');
      out.push('');
      out.push('</details>');
    }
  }
  out.push('');
  return out.join('\n');
}
