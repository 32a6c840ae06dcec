import { defineConfig } from 'vitest/config';

// The fast tier (`npm run test:unit`): pure functions, in-memory DuckDB and Fastify's inject(),
// straight from the TypeScript sources: no build, no child processes, no ports. The full suite
// (vitest.config.ts, `npm test`) runs these too.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 60_000,
    maxWorkers: 2,
  },
});
