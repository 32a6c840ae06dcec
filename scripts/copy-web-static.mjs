// Part of `npm run build`: tsc compiles the web UI's TypeScript into dist/web; its stylesheet and
// icon are copied beside it, so the server serves one directory (src/reads/ui/assets.ts).
import { copyFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';

const from = 'src/reads/ui/web';
const to = 'dist/web';
for (const name of readdirSync(from)) {
  if (['.css', '.svg'].includes(extname(name))) copyFileSync(join(from, name), join(to, name));
}
