import { defineConfig } from 'vitest/config';

// Tests run against the compiled output in dist/ (child processes need real JS files),
// so the test command builds first; vitest only collects the TypeScript test files.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Daemon tests spawn real processes and DuckDB files: two cores, so keep parallelism modest.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
