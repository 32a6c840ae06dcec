import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { renderViewsDoc } from '../src/shared/catalog/docs.js';
import { VIEW_ROWS_PATH, renderViewRows } from './view-rows.js';

/**
 * `npm run generate`: regenerates what is generated from the catalog (src/shared/catalog/):
 * docs/views.md and the API's row types (src/reads/contract/view-rows.generated.ts). A test fails when either is stale.
 */
const root = resolve(import.meta.dirname, '../..');
for (const [path, text] of [
  [resolve(root, 'docs/views.md'), await renderViewsDoc()],
  [resolve(root, VIEW_ROWS_PATH), await renderViewRows()],
] as const) {
  await writeFile(path, text);
  process.stdout.write(`wrote ${path}\n`);
}
