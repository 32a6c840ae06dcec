import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { renderErrorsDoc } from './errors-doc.js';
import { renderSettingsTable } from './settings-readme.js';
import { renderFormulaEnvironment, renderFormulaReadme, renderUnitEnvironment } from './settings-services.js';
import { renderViewRows, VIEW_ROWS_PATH } from './view-rows.js';
import { renderViewsDoc } from './views-doc.js';

/**
 * Everything `npm run generate` writes, in one list: each file (or marked region of a file) that
 * is derived from a source of truth in src/ (the catalog, the settings table, the error registry).
 * test/unit/generated.test.ts renders each and fails when the file on disk differs, so a change to
 * a source of truth cannot land without its copies.
 */
export interface GeneratedArtifact {
  /** Relative to the repository root. */
  readonly path: string;
  /** What the file must hold, given what it holds now (null when missing): whole files ignore it; a region inside a hand-written file replaces only its region. */
  render(current: string | null): Promise<string>;
}

/** The repository: the nearest directory above this file with a package.json (this file runs from scripts/ under vitest and from dist/scripts/ once built). */
export const REPO_ROOT = repoRoot(import.meta.dirname);

function repoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const ARTIFACTS: readonly GeneratedArtifact[] = [
  { path: 'docs/views.md', render: () => renderViewsDoc() },
  { path: VIEW_ROWS_PATH, render: () => renderViewRows() },
  region('README.md', 'settings', '<!--', renderSettingsTable),
  ...(['puller', 'reads'] as const).flatMap((daemon) => [
    region(`Formula/session-lattice-${daemon}.rb`, 'environment', '#', () => renderFormulaEnvironment(daemon)),
    region(`Formula/session-lattice-${daemon}.rb`, 'settings-readme', '#', () => renderFormulaReadme(daemon)),
    region(`packaging/systemd/session-lattice-${daemon}.service`, 'environment', '#', () => renderUnitEnvironment(daemon)),
  ]),
  { path: 'docs/errors.md', render: () => renderErrorsDoc() },
];

/** A marked region of a hand-written file (replaceRegion, below). */
function region(path: string, name: string, comment: '<!--' | '#', body: () => string): GeneratedArtifact {
  return {
    path,
    render: async (current) => {
      if (current === null) throw new Error(`${path} is missing: its generated region "${name}" is placed by hand once`);
      return replaceRegion(current, name, body(), comment);
    },
  };
}

/** The file's text now, or null when it does not exist. */
export async function currentText(path: string): Promise<string | null> {
  try {
    return await readFile(resolve(REPO_ROOT, path), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Replaces the text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` (or the same
 * markers after `#`, for Ruby and systemd files) with `body`, markers kept. Throws when the markers
 * are missing: a generated region is placed by hand once, then kept by the generator.
 */
function replaceRegion(text: string, name: string, body: string, comment: '<!--' | '#' = '<!--'): string {
  const open = comment === '#' ? `# generated:${name}` : `<!-- generated:${name} -->`;
  const close = comment === '#' ? `# /generated:${name}` : `<!-- /generated:${name} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) throw new Error(`no generated region "${name}" (${open} ... ${close})`);
  const lineStart = start + open.length;
  return `${text.slice(0, lineStart)}\n${body.endsWith('\n') ? body : `${body}\n`}${text.slice(text.lastIndexOf('\n', end) + 1)}`;
}
