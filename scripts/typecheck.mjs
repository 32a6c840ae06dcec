// `npm run typecheck`: the whole program, then the web UI, with nothing built beforehand. The web UI
// reads `session-lattice/api` as any consumer does, from the package's declarations (the build
// puts them in dist/); here the one type-checking pass of the main project writes those
// declarations to a temporary directory instead, and the UI is checked against them there. dist/
// is left alone. The directory is inside the project (node_modules/.cache) so that the
// declarations' own imports (zod, ...) resolve from node_modules as they do from dist/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
mkdirSync('node_modules/.cache', { recursive: true });
const out = resolve(mkdtempSync('node_modules/.cache/typecheck-'));
const run = (args) => execFileSync(process.execPath, [tsc, ...args], { stdio: 'inherit' });
try {
  run(['-p', 'tsconfig.json', '--emitDeclarationOnly', '--declarationMap', 'false', '--outDir', out]);
  const web = join(out, 'tsconfig.web.json');
  writeFileSync(
    web,
    JSON.stringify({
      extends: resolve('src/reads/ui/web/tsconfig.json'),
      compilerOptions: { noEmit: true, paths: { 'session-lattice/api': [join(out, 'src/reads/contract/api.d.ts')] } },
    }),
  );
  run(['-p', web]);
} catch {
  // tsc has printed the errors.
  process.exitCode = 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
