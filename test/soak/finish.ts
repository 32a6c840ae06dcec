import type { SoakContext } from './context.js';
import type { SoakRig } from './rig.js';

/** What the readers and the reader process saw: added at the end, or at a failure. */
export function readerRows(ctx: SoakContext): void {
  const { rig, checks } = ctx;
  if (ctx.readersReported) return;
  ctx.readersReported = true;
  const load = rig.load;
  const opens = rig.fileOpens();
  const served = rig.servedAwaited.size;
  checks.add('requests served (HTTP + MCP)', `${load.ok} (${load.mcpOk} MCP)`, load.ok > 0 && load.mcpOk > 0);
  checks.add('requests failed while reads was up', String(load.failed.length), load.failed.length === 0);
  checks.note('requests failed while reads was restarting (allowed)', String(load.failedWhileDown));
  checks.add('responses whose rows did not match their generation', String(load.mismatches.length), load.mismatches.length === 0);
  checks.add('responses whose generation went backwards', String(load.backwards), load.backwards === 0);
  checks.add('generations seen by readers (soak waited for)', `${load.generations.size} (${served})`, served > 0 && load.generations.size >= served);
  checks.add('opens of the published file (separate process)', String(opens.opens), opens.opens > 0);
  const torn = opens.errors.length + opens.missingAfterPublish + opens.miscounted.length;
  checks.add('torn, missing or unopenable published file', String(torn), torn === 0);
  checks.add('published generation went backwards (separate process)', String(opens.backwards), opens.backwards === 0);
  checks.note('data changes', String(rig.dataChanges));
}

/** The readers' and the reader process's failures, a few of each, for the report. */
export function readerDetails(rig: SoakRig): string[] {
  const opens = rig.fileOpens();
  return [
    ...rig.load.mismatches.slice(0, 5).map((m) => `mismatch: ${m}`),
    ...rig.load.failed.slice(0, 5).map((f) => `failed: ${f}`),
    ...opens.errors.slice(0, 5).map((e) => `open error: ${e}`),
    ...opens.miscounted.slice(0, 5).map((e) => `open miscounted: ${e}`),
  ];
}

/**
 * The end: readers and the reader process stop, then both daemons get SIGTERM and must exit 0,
 * leaving no temp file.
 */
export async function finish(ctx: SoakContext): Promise<void> {
  const { rig, checks } = ctx;
  // A clean stop is owed by a running daemon: one that holds its home has its handlers installed.
  await rig.waitPullerHoldsHome();
  await rig.stopLoad();
  await rig.stopFileReader();
  const generation = await rig.generation();
  readerRows(ctx);
  const published = rig.publishesAwaited.size;
  checks.add('generations published (soak waited for)', `${generation} (${published})`, published > 0 && generation >= published);
  const exits = await rig.stopDaemons();
  checks.add(
    'clean exits on SIGTERM (puller, reads)',
    `${exits.puller.code ?? exits.puller.signal}, ${exits.reads.code ?? exits.reads.signal}`,
    exits.puller.code === 0 && exits.reads.code === 0,
  );
  const leftovers = await rig.leftovers();
  checks.add('temp files left behind', leftovers.length === 0 ? '0' : `${leftovers.length}: ${leftovers.slice(0, 3).join(', ')}`, leftovers.length === 0);
}
