// Part of `npm run lint`: fails when the modules of src/ import each other in a cycle, type-only
// imports included. ESLint's import-x/no-cycle skips those (they vanish at run time), but a type
// cycle is still two modules that cannot be understood one without the other, and the cycles this
// code had were of that kind (a table's owner typed by the handle that created its table). Imports
// are resolved by TypeScript itself, with tsconfig.json's settings: `.js` specifiers, `import type`,
// `export ... from` and `import()` alike.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';

const ts = createRequire(import.meta.url)('typescript');
const root = resolve(import.meta.dirname, '..');
const src = resolve(root, 'src') + sep;

/** The modules of src/ a tsconfig builds, each with the settings to resolve its imports with. */
function project(path) {
  const config = ts.readConfigFile(resolve(root, path), ts.sys.readFile).config;
  const { options, fileNames } = ts.parseJsonConfigFileContent(config, ts.sys, dirname(resolve(root, path)));
  return fileNames.filter((f) => resolve(f).startsWith(src)).map((f) => ({ file: resolve(f), options }));
}
// The browser code of the web UI is a program of its own.
const modules = [...project('tsconfig.json'), ...project('src/reads/ui/web/tsconfig.json')];
const known = new Set(modules.map((m) => m.file));
const importsOf = new Map();
for (const { file, options } of modules) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets = importedFiles
    .map((i) => ts.resolveModuleName(i.fileName, file, options, ts.sys).resolvedModule?.resolvedFileName)
    .filter((t) => t !== undefined && known.has(resolve(t)))
    .map((t) => resolve(t));
  importsOf.set(file, [...new Set(targets)]);
}

// Tarjan's strongly connected components: every component of more than one module is a cycle.
let next = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
function visit(v) {
  index.set(v, next);
  low.set(v, next++);
  stack.push(v);
  onStack.add(v);
  for (const w of importsOf.get(v)) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) !== index.get(v)) return;
  const component = [];
  let w;
  do {
    w = stack.pop();
    onStack.delete(w);
    component.push(w);
  } while (w !== v);
  if (component.length > 1 || importsOf.get(v).includes(v)) cycles.push(component);
}
for (const v of importsOf.keys()) if (!index.has(v)) visit(v);

if (cycles.length > 0) {
  for (const c of cycles) {
    const names = new Set(c);
    console.error(`import cycle among ${c.length} modules of src/:`);
    for (const m of c.sort()) {
      const into = importsOf.get(m).filter((t) => names.has(t));
      console.error(`  ${relative(root, m)} imports ${into.map((t) => relative(root, t)).join(', ')}`);
    }
  }
  process.exitCode = 1;
} else {
  console.log(`no import cycle among the ${modules.length} modules of src/`);
}
