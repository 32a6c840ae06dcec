// `npm run lint` (with `prettier --check`). Type-aware: every TypeScript file is linted with the
// types of the tsconfig that builds it (tsconfig.json; the browser code of the web UI has its own,
// seen through src/reads/ui/web/tsconfig.lint.json). Formatting is Prettier's alone
// (.prettierrc.json): nothing here is about layout.
//
// The type-aware rules are chosen, not the whole recommendedTypeChecked set: each catches a bug
// this code can have (a promise nobody waits for or whose rejection nobody sees, a switch that
// forgets a new kind) rather than asking for a style.
//
// Import cycles are not looked for here but by scripts/check-cycles.mjs (also in `npm run lint`):
// import-x/no-cycle skips type-only imports, and the cycles this code had were of that kind.
//
// `npm run lint` runs it on two threads (`--concurrency 2`, the machines' two cores): each builds
// its own TypeScript program, and the lint takes about 26 s instead of 35 s.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The daemon boundary (AGENTS.md, "The daemons' contract"): the puller and the reads server are
 * separate processes that meet only in src/shared/ (the home's files); shared/ knows neither;
 * only the CLI, which starts them, sees all three. Nothing in src/ imports tests, benchmarks or
 * scripts.
 */
const OUTSIDE_SRC = ['./test', './bench', './scripts'];
const CLI = ['./src/cli', './src/cli.ts'];
const boundary = (target, from, why) => ({ target, from, message: why });
const BOUNDARY_ZONES = [
  boundary('./src/puller', ['./src/reads', ...CLI, ...OUTSIDE_SRC], 'the puller imports only src/shared/ (the daemons meet in the home, not in code)'),
  boundary('./src/reads', ['./src/puller', ...CLI, ...OUTSIDE_SRC], 'the reads server imports only src/shared/ (the daemons meet in the home, not in code)'),
  boundary('./src/shared', ['./src/puller', './src/reads', ...CLI, ...OUTSIDE_SRC], 'src/shared/ is the contract between the daemons: it imports neither'),
  boundary(CLI, OUTSIDE_SRC, 'the shipped code does not import tests, benchmarks or scripts'),
];

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'test-results/', '.bench-tmp/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // The boundary is kept by path: imported files are parsed as TypeScript, and the `.js`
      // specifiers of NodeNext resolve to the `.ts` sources, as tsc resolves them.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: ['tsconfig.json', 'src/reads/ui/web/tsconfig.lint.json'], noWarnOnMultipleProjects: true }),
      ],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `let [a, b] = ...` where only `a` is assigned again later stays one statement.
      'prefer-const': ['error', { destructuring: 'all' }],
      // Matching control characters is what the log and terminal parsers here are for.
      'no-control-regex': 'off',
      // The code's convention: a name with a leading underscore is unused on purpose (a property
      // left out of a rest, a parameter a signature needs).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-restricted-paths': ['error', { zones: BOUNDARY_ZONES }],
    },
  },
  {
    // The browser side of the web UI: DOM types, its own tsconfig.
    files: ['src/reads/ui/web/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: false, project: 'src/reads/ui/web/tsconfig.lint.json', tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // Plain JavaScript (this file, scripts/*.mjs) and the vitest configs: no tsconfig covers them,
    // so no type-aware rules.
    files: ['**/*.js', '**/*.mjs', 'vitest*.config.ts'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
