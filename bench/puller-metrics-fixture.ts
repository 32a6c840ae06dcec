import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CATALOG } from '../src/shared/catalog/index.js';
import { homePaths } from '../src/shared/paths.js';

/**
 * A puller metrics.json of a realistic size for the scrape benchmark, written as the puller writes
 * it (prom-client's getMetricsAsJSON, replaced by rename): ticks by outcome, tick and phase
 * durations, a refresh duration, failures and rows per catalog view, errors by class, and Node's
 * process metrics under the puller's prefix, after a few hundred ticks.
 */
export async function writeRealisticPullerMetrics(home: string, ticks = 500): Promise<number> {
  const registry = new Registry();
  const registers = [registry];
  const p = 'session_lattice_puller_';
  collectDefaultMetrics({ register: registry, prefix: p });
  const outcomes = new Counter({ name: `${p}ticks_total`, help: 'Ticks by outcome', labelNames: ['outcome'], registers });
  const tick = new Histogram({ name: `${p}tick_duration_seconds`, help: 'Tick duration', registers });
  const phases = new Histogram({ name: `${p}phase_duration_seconds`, help: 'Time per tick phase', labelNames: ['phase'], registers });
  const views = new Histogram({ name: `${p}view_refresh_duration_seconds`, help: 'Materialization time per view', labelNames: ['view'], registers });
  const viewFailures = new Counter({ name: `${p}view_failures_total`, help: 'Failed refreshes per view', labelNames: ['view'], registers });
  const viewRows = new Gauge({ name: `${p}view_rows`, help: 'Rows per view in the last publish', labelNames: ['view'], registers });
  const errors = new Counter({ name: `${p}errors_total`, help: 'Failed ticks by error class', labelNames: ['class'], registers });
  const generation = new Gauge({ name: `${p}generation`, help: 'Last generation published', registers });
  const bytes = new Counter({ name: `${p}upstream_bytes_total`, help: 'Bytes received from repo-recall', registers });
  for (let i = 0; i < ticks; i++) {
    const failed = i % 17 === 0;
    outcomes.inc({ outcome: failed ? 'failed' : i % 3 ? 'unchanged' : 'published' });
    if (failed) errors.inc({ class: ['upstream_unreachable', 'upstream_http', 'payload', 'duckdb'][i % 4]! });
    tick.observe(0.05 + (i % 10));
    for (const phase of ['fetch', 'load', 'views', 'publish', 'checkpoint']) phases.observe({ phase }, 0.01 * (1 + (i % 50)));
    for (const view of CATALOG) views.observe({ view: view.name }, 0.001 * (1 + (i % 300)));
    bytes.inc(1_000_000);
  }
  for (const view of CATALOG) {
    viewFailures.inc({ view: view.name }, 0);
    viewRows.set({ view: view.name }, 1000);
  }
  generation.set(ticks / 3);
  const now = new Date().toISOString();
  const text = JSON.stringify({ pid: 4242, started_at: now, written_at: now, metrics: await registry.getMetricsAsJSON() });
  const path = homePaths(home).metrics;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
  return Buffer.byteLength(text);
}
