// Part of `npm run build`, after the main tsc: compiles the web UI's TypeScript (its own tsconfig:
// DOM types, plain ES modules) into a fresh dist/web, so a module deleted from the source is not
// served or packed from an old build, and copies its stylesheet and icon beside it. The server
// serves that one directory (src/reads/ui/assets.ts). Type-checking alone: scripts/typecheck.mjs.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';

const from = 'src/reads/ui/web';
const to = 'dist/web';
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(to, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(from, 'tsconfig.json')], { stdio: 'inherit' });
for (const name of readdirSync(from)) {
  if (['.css', '.svg'].includes(extname(name))) copyFileSync(join(from, name), join(to, name));
}
