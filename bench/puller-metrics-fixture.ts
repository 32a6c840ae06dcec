import { stat } from 'node:fs/promises';
import { PullerMetrics } from '../src/puller/metrics.js';
import { CATALOG } from '../src/shared/catalog/index.js';
import { TICK_PHASES, UPSTREAM_ERROR_CLASSES } from '../src/shared/events.js';
import { homePaths } from '../src/shared/paths.js';

/**
 * The puller's metrics.json as the puller writes it (its own PullerMetrics, src/puller/metrics.ts:
 * every series of the catalog's views and of the tick's phases), after `ticks` ticks of which one
 * in 17 failed: the file a scrape reads on a home whose puller has run for a while. Returns its size.
 */
export async function writeRealisticPullerMetrics(home: string, ticks = 500): Promise<number> {
  const path = homePaths(home).metrics;
  const metrics = new PullerMetrics(
    path,
    CATALOG.map((v) => v.name),
    new Date(),
    (err) => {
      throw err;
    },
  );
  let failures = 0;
  for (let i = 0; i < ticks; i++) {
    const failed = i % 17 === 0;
    failures = failed ? failures + 1 : 0;
    if (failed) metrics.upstreamError(UPSTREAM_ERROR_CLASSES[i % UPSTREAM_ERROR_CLASSES.length]!);
    metrics.tick({
      outcome: failed ? 'failed' : i % 3 ? 'unchanged' : 'published',
      durationMs: 50 + (i % 10) * 1000,
      phasesMs: failed ? {} : Object.fromEntries(TICK_PHASES.map((p, j) => [p, 10 * (1 + ((i + j) % 50))])),
      sessions: failed ? null : 100_000,
      rejected: failed ? null : i % 5,
      bytes: failed ? null : 125_000_000,
      writeBytes: failed ? null : 140_000_000,
      errorCode: failed ? 'upstream' : null,
      failedSources: failed ? ['repo-recall'] : [],
      transcripts: failed
        ? null
        : { files: 3000, messages: 400_000, added: i % 7, updated: i % 3, bytesRead: 4096, skippedMalformed: i % 2, skippedOversized: 0 },
      views: failed
        ? []
        : CATALOG.map((v, j) => ({ name: v.name, status: 'materialized' as const, rowCount: 1000, durationMs: 1 + ((i + j) % 300), error: null })),
      generation: Math.floor(i / 3) + 1,
      consecutiveFailures: failures,
      succeededAt: failed ? null : new Date(),
    });
  }
  await metrics.write();
  return (await stat(path)).size;
}
