import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { renderViewsDoc } from '../src/shared/catalog/docs.js';

/** `npm run docs:views`: regenerates docs/views.md from the catalog (src/shared/catalog/). */
const path = resolve(import.meta.dirname, '../../docs/views.md');
await writeFile(path, await renderViewsDoc());
process.stdout.write(`wrote ${path}\n`);
