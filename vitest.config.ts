import { defineConfig } from 'vitest/config';

// Tests run against the compiled output in dist/ (child processes need real JS files),
// so the test command builds first; vitest only collects the TypeScript test files.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Kills what a failing test left running and removes temp homes (see the file).
    setupFiles: ['test/helpers/setup.ts'],
    // Generous, for a machine whose cores are all busy: a passing test returns as soon as what it
    // waits for happens. Above the helpers' own deadlines (test/helpers/processes.ts, 120 s), so
    // that a broken wait fails with the helper's message rather than vitest's; tests that wait for
    // many things in a row (50 generations, 20 kills) set their own, larger timeout.
    testTimeout: 240_000,
    hookTimeout: 240_000,
    // The setup file's after-hooks must run after the test file's own (stack order, also the default).
    sequence: { hooks: 'stack' },
    // Daemon tests spawn real processes and DuckDB files: two cores, so keep parallelism modest.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
