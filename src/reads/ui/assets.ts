import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { packageFile } from '../../shared/version.js';
import { UiNotBuiltError } from '../contract/errors.js';

/**
 * The web UI's files, read once at startup: the front end `npm run build` compiles into dist/web
 * (src/reads/ui/web/), and the charting library's browser builds from the installed packages (no
 * CDN: the page works offline and the CSP can say `default-src 'self'`).
 *
 * They are served under /ui/assets/{version}/ where the version is a hash of every file: a page
 * and the modules it imports by relative URL always come from one build, and each can be cached
 * for a year (a new build is a new URL).
 */

interface UiAsset {
  readonly body: Buffer;
  readonly type: string;
  /** A strong validator: the file's own content hash. */
  readonly etag: string;
}

export interface UiAssets {
  /** The hash of every file, the path segment after /ui/assets/. */
  readonly version: string;
  readonly files: ReadonlyMap<string, UiAsset>;
  /** The names of the charting library's files (classic scripts, not the page's modules). */
  readonly vendor: ReadonlySet<string>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/** The browser builds of the charting library (their UMD files register on `window.Chart`). */
const VENDOR = [
  { name: 'chart.umd.min.js', from: 'chart.js', file: 'chart.umd.min.js' },
  { name: 'chartjs-chart-matrix.min.js', from: 'chartjs-chart-matrix', file: 'chartjs-chart-matrix.min.js' },
  // Named by the files' sourceMappingURL comments: a developer's tools ask for them.
  { name: 'chart.umd.min.js.map', from: 'chart.js', file: 'chart.umd.min.js.map' },
  { name: 'chartjs-chart-matrix.min.js.map', from: 'chartjs-chart-matrix', file: 'chartjs-chart-matrix.min.js.map' },
];

function asset(body: Buffer, name: string): UiAsset {
  const type = TYPES[extname(name)];
  if (!type) throw new Error(`no content type for web asset ${name}`);
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

export function loadUiAssets(dir: string = packageFile('dist/web')): UiAssets {
  const files = new Map<string, UiAsset>();
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => extname(n) in TYPES)
      .sort();
  } catch (err) {
    throw new UiNotBuiltError(dir, err);
  }
  if (!names.includes('main.js')) throw new UiNotBuiltError(dir, new Error('main.js is missing'));
  for (const name of names) files.set(name, asset(readFileSync(join(dir, name)), name));

  const require = createRequire(import.meta.url);
  for (const v of VENDOR) files.set(v.name, asset(readFileSync(join(dirname(require.resolve(v.from)), v.file)), v.name));

  const hash = createHash('sha256');
  for (const [name, a] of files) hash.update(`${name}\n${a.etag}\n`);
  return { version: hash.digest('base64url').slice(0, 12).replace(/[-_]/g, 'x'), files, vendor: new Set(VENDOR.map((v) => v.name)) };
}
