import { recordSection } from './record.js';

/**
 * `npm run bench`: runs the benchmarks one after another and records each one's section in
 * docs/benchmarks.md (replacing that section only). Every benchmark measures its own baseline in
 * the same run and reports ratios against it. `npm run bench -- <name> ...` runs some of them;
 * `--no-record` prints the sections without touching docs/benchmarks.md (for trying a change to a
 * benchmark, e.g. with BENCH_SESSIONS=5000 where a benchmark supports it).
 */
export interface BenchModule {
  name: string;
  /** Returns a markdown section: a `## heading`, the machine line is added by the harness. */
  run(): Promise<string>;
}

const MODULES: Record<string, () => Promise<{ default: BenchModule }>> = {
  puller: () => import('./puller.js'),
  views: () => import('./views.js'),
  reads: () => import('./reads.js'),
  serve: () => import('./serve.js'),
  query: () => import('./query.js'),
  'read-api': () => import('./read-api.js'),
  'ui-load': () => import('./ui-load.js'),
  metrics: () => import('./metrics.js'),
  scale: () => import('./scale.js'),
  transcripts: () => import('./transcripts.js'),
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const record = !args.includes('--no-record');
  const only = args.filter((a) => a !== '--no-record');
  const unknown = only.filter((n) => !(n in MODULES));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(MODULES).join(', ')}`);
  for (const [name, load] of Object.entries(MODULES)) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stderr.write(`bench: ${name}...\n`);
    const section = await (await load()).default.run();
    process.stdout.write(`${record ? await recordSection(name, section) : section}\n\n`);
  }
}

await main();
