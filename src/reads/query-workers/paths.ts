import { realpathSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';

/**
 * Absolute paths out of what a query worker returns (issue 11: `query` errors and
 * `duckdb_settings()` showed paths under the user's home).
 *
 * DuckDB resolves the database path to its real absolute path whatever it was opened with
 * (measured: a relative name, and `/proc/self/fd/N`, both come back absolute in
 * `duckdb_databases()`, `pragma_database_list` and the `allowed_paths` setting, and
 * `allowed_paths` cannot be changed). So the worker rewrites them:
 *
 * - in results, only the lattice home: `<home>/x` becomes `x`, as if DuckDB had kept the relative
 *   name (session data holds other absolute paths, such as a session's cwd, and those are data);
 * - in error messages, also the user's home (`~`) and the temp directory (`$TMPDIR`).
 *
 * Each directory is matched as given and as its real path (a home under a symlink, such as /tmp
 * on macOS), the longest first, and only as a whole path component.
 */

interface Rule {
  dir: string;
  /** What `<dir>/` becomes. */
  prefix: string;
  /** What `<dir>` alone becomes. */
  alone: string;
}

function variants(dir: string): string[] {
  const out = new Set([dir.replace(/\/+$/, '')]);
  try {
    out.add(realpathSync(dir).replace(/\/+$/, ''));
  } catch {
    // not there (yet): as given only
  }
  return [...out].filter((d) => d.length > 1);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One pass over the text, the longest directory first; `encode` is how a path appears in the text. */
function compile(rules: Rule[], encode: (s: string) => string): (text: string) => string {
  const expanded = rules.flatMap((r) => variants(r.dir).map((dir) => ({ ...r, dir: encode(dir) }))).sort((a, b) => b.dir.length - a.dir.length);
  if (expanded.length === 0) return (text) => text;
  const byDir = new Map(expanded.map((r) => [r.dir, r]));
  const slash = encode('/');
  const pattern = new RegExp(expanded.map((r) => `${escapeRegExp(r.dir)}(?:${escapeRegExp(slash)}|(?![\\w.\\-/]))`).join('|'), 'g');
  const needles = expanded.map((r) => r.dir);
  return (text) => {
    if (!needles.some((n) => text.includes(n))) return text;
    return text.replace(pattern, (match) => {
      const isPrefix = match.endsWith(slash);
      const rule = byDir.get(isPrefix ? match.slice(0, -slash.length) : match)!;
      return isPrefix ? rule.prefix : rule.alone;
    });
  };
}

export interface PathRewriter {
  /** A row's JSON text (paths inside JSON strings, JSON-escaped). */
  row(json: string): string;
  /** An error message. */
  error(message: string): string;
}

export function pathRewriter(home: string): PathRewriter {
  const lattice: Rule = { dir: home, prefix: '', alone: '.' };
  const others: Rule[] = [
    { dir: homedir(), prefix: '~/', alone: '~' },
    { dir: tmpdir(), prefix: '$TMPDIR/', alone: '$TMPDIR' },
  ];
  const jsonEncode = (s: string) => JSON.stringify(s).slice(1, -1);
  return {
    row: compile([lattice], jsonEncode),
    error: compile([lattice, ...others], (s) => s),
  };
}
