import { defineConfig } from 'vitest/config';

// The fast tier (`npm run test:unit`): pure functions, in-memory DuckDB and Fastify's inject(),
// straight from the TypeScript sources: no build, no child processes, no ports. The full suite
// (vitest.config.ts, `npm test`) runs these too.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 60_000,
    maxWorkers: 2,
    // One module graph per worker rather than per file: re-importing the sources (DuckDB, Fastify,
    // zod schemas) for every file cost more than half the tier's time on a loaded 2-core machine.
    // Safe because no unit file mocks modules, and fake timers are restored in its own hooks; the full
    // suite (vitest.config.ts) runs the same files isolated, so a leak would show there as well.
    isolate: false,
  },
});
