import { CATALOG_AXES, type CatalogAxis } from '../../src/shared/catalog/index.js';
import { describeViews } from './views-doc.js';
import { errorMessage } from '../../src/shared/errors.js';

/**
 * The generator of src/reads/contract/view-rows.generated.ts: one TypeScript interface per view, a row as the read
 * API returns it in JSON. It lives here, beside the script that writes it, and not in src/: a
 * generator is not contract, and the package ships only what it generates.
 */

/** Where `npm run generate` writes the rendered file, relative to the repository root. */
export const VIEW_ROWS_PATH = 'src/reads/contract/view-rows.generated.ts';

/**
 * The JSON type of a DuckDB scalar as DuckDB's `to_json` renders it (how the read API renders
 * rows). Integers wider than 2^53 lose precision in `JSON.parse`, but are still numbers. Only the
 * types named here are known: a new one needs a deliberate entry, so the generator fails on it.
 */
const SCALARS: ReadonlyMap<string, string> = new Map([
  ['BIGINT', 'number'],
  ['INTEGER', 'number'],
  ['HUGEINT', 'number'],
  ['DOUBLE', 'number'],
  ['VARCHAR', 'string'],
  ['BOOLEAN', 'boolean'],
  ['DATE', 'string'], // "2024-01-02"
  ['TIMESTAMP', 'string'], // "2024-01-02 03:04:05" (UTC: instants stay UTC)
  ['TIMESTAMP WITH TIME ZONE', 'string'], // "2024-01-02 03:04:05+00"
]);

/**
 * The TypeScript type of a DuckDB column type in a JSON row, without the column's own NULL. A list
 * `T[]` is an array of T's type or null: DuckDB's types do not say whether a list holds NULLs, and
 * some do (session_facts.repo_names, for a repo upstream has no name for). Throws on a type it does
 * not know.
 */
export function jsonTypeOf(duckdbType: string): string {
  if (duckdbType.endsWith('[]')) return `(${jsonTypeOf(duckdbType.slice(0, -2))} | null)[]`;
  // DECIMAL(p,s): to_json renders it as a JSON number
  if (/^DECIMAL\(\d+,\s*\d+\)$/.test(duckdbType)) return 'number';
  const scalar = SCALARS.get(duckdbType);
  if (scalar === undefined) {
    throw new Error(`no TypeScript type for the DuckDB type ${duckdbType}: add how to_json renders it to SCALARS in bench/view-rows.ts`);
  }
  return scalar;
}

/** `tool_sessions` -> `ToolSessionsRow`. */
function interfaceName(view: string): string {
  return `${view
    .split('_')
    .map((w) => (w === '' ? '' : w[0]!.toUpperCase() + w.slice(1)))
    .join('')}Row`;
}

/** A property name: bare when it is an identifier, else quoted. */
function propertyName(column: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(column) ? column : JSON.stringify(column);
}

/** A JSDoc block at `indent`, wrapped near 100 columns; a `*\/` in the text cannot end it early. */
function jsdoc(text: string, indent: string): string[] {
  const words = text
    .replace(/\*\//g, '*\\/')
    .split(/\s+/)
    .filter((w) => w !== '');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line !== '' && indent.length + 3 + line.length + 1 + w.length > 100) {
      lines.push(line);
      line = w;
    } else line = line === '' ? w : `${line} ${w}`;
  }
  if (line !== '') lines.push(line);
  return [`${indent}/**`, ...lines.map((l) => `${indent} * ${l}`), `${indent} */`];
}

/**
 * src/reads/contract/view-rows.generated.ts, from the catalog and the column types DuckDB gives its SQL (the same
 * describeViews as docs/views.md). Deterministic, so a test can regenerate it and compare.
 */
export async function renderViewRows(axes: readonly CatalogAxis[] = CATALOG_AXES): Promise<string> {
  const views = axes.flatMap((a) => a.views);
  const columns = await describeViews(views);
  const names = new Map<string, string>();
  for (const v of views) {
    const name = interfaceName(v.name);
    const clash = names.get(name);
    if (clash !== undefined || name === 'ViewRows') throw new Error(`views ${clash ?? 'ViewRows'} and ${v.name} would both be the interface ${name}`);
    names.set(name, v.name);
  }
  const out: string[] = [
    '/**',
    ' * Generated from the catalog (src/shared/catalog/) by `npm run generate`. Do not edit by hand: a',
    ' * test fails when this file is stale.',
    ' *',
    ' * One interface per view: a row of it as the read API returns it in JSON (`GET /views/{name}`;',
    " * rows are rendered by DuckDB's to_json). BIGINT and DOUBLE are numbers, DATE and TIMESTAMP",
    ' * strings (`2024-01-02`, `2024-01-02 03:04:05`, UTC), lists arrays. Key columns are never null;',
    ' * any other column may be (a DOUBLE that is NaN or infinite is rendered as null too), and so may',
    " * a list's elements (DuckDB's types do not say when they cannot be).",
    ' */',
  ];
  for (const v of views) {
    out.push('');
    out.push(...jsdoc(`\`${v.name}\`: ${v.description}`, ''));
    out.push(`export interface ${interfaceName(v.name)} {`);
    for (const c of columns.get(v.name) ?? []) {
      const key = v.keyColumns.includes(c.name);
      let type: string;
      try {
        type = jsonTypeOf(c.type);
      } catch (err) {
        throw new Error(`view ${v.name}, column ${c.name}: ${errorMessage(err)}`, { cause: err });
      }
      out.push(`  /** \`${c.type}\`${key ? ', key' : ''} */`);
      out.push(`  ${propertyName(c.name)}: ${key ? type : `${type} | null`};`);
    }
    out.push('}');
  }
  out.push('');
  out.push('/** Every view by name, with the type of its rows. */');
  out.push('export interface ViewRows {');
  for (const v of views) out.push(`  ${v.name}: ${interfaceName(v.name)};`);
  out.push('}');
  out.push('');
  out.push('/** The name of a view of the catalog. */');
  out.push('export type ViewName = keyof ViewRows;');
  out.push('');
  return out.join('\n');
}
