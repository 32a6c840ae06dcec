import type { ViewDefinition } from '../shared/catalog/index.js';
import type { HeldPayload } from '../shared/status.js';
import { materializeDueViews, type ViewOutcome } from './materialize.js';
import { PhaseClock, type PhaseFigures } from './phase-clock.js';
import { publishGeneration } from './publish.js';
import { stageRepoRecall, type RecallDeps, type RecallStage } from './sources/repo-recall.js';
import { stageTranscripts, type TranscriptsDeps, type TranscriptsStage } from './sources/transcripts.js';
import { hasUnpublishedChanges, readState, type PullerState } from './state.js';
import type { LoadResult } from './load.js';
import type { UpstreamErrorClass } from './upstream-error.js';
import { applyViewInputs, type ViewInputs } from './view-inputs.js';

/**
 * One tick, as a pipeline of stages that each return what they did:
 *
 *   sources (repo-recall, transcripts) -> views -> publish
 *
 * Each source stages its own data and returns what it staged, failures included: one source
 * failing does not stop the other's data from loading, the views from materializing and a
 * generation from being published. The tick fails (throws) only when every source it reads
 * failed, or when what comes after them does (the views' bookkeeping, the publish, a fatal storage
 * error): then it has published nothing, and the working database's transactions leave the
 * previous data and ETag in place. What the tick did goes to one observer (tick-observer.ts).
 */

export interface TickDeps extends RecallDeps, Partial<Pick<TranscriptsDeps, 'transcripts'>> {
  catalog: readonly ViewDefinition[];
  /** The zone and prices the views are materialized with. */
  inputs: ViewInputs;
  /** A one-shot `pull`: every view is brought up to the data just loaded, whatever its interval. */
  ignoreIntervals?: boolean;
}

export interface TickReport {
  /** `held`: the shrink guard held back what repo-recall sent, and nothing was published. */
  outcome: 'published' | 'unchanged' | 'held';
  /** The generation now published (the new one, or the one already there). */
  generation: number;
  /** What this tick published, when it did: the file's size (stat after the rename) and the sessions it holds. */
  published: { bytes: number; sessions: number } | null;
  /** What repo-recall's stage came to. */
  repoRecall: RecallStage;
  /** What the transcripts' stage came to (`off` when the source is). */
  transcripts: TranscriptsStage;
  /** The sources that failed this tick (the tick went on with the others). */
  failedSources: Array<'repo-recall' | 'transcripts'>;
  /** Shorthands of repo-recall's stage, as before there were two sources. */
  upstream: RecallStage['kind'];
  scanVersion: number | null;
  bytes: number;
  load: LoadResult | null;
  repairedSurrogates: number;
  held: HeldPayload | null;
  acceptedShrink: Extract<RecallStage, { kind: 'loaded' }>['acceptedShrink'];
  views: ViewOutcome[];
  /** Where the time went, in ms: fetch (download + split), load, transcripts, views, checkpoint (of the working database), publish (its copy). */
  phases: PhaseFigures;
  /** What went wrong without failing the tick. */
  warnings: string[];
  durationMs: number;
  /** Bytes the tick wrote to storage, in all and by phase (/proc/self/io; null where the system does not say). */
  writeBytes: { total: number; phases: PhaseFigures } | null;
}

/** The base_version the views are brought to: each source that changed its base tables moved it by one. */
function versionAfter(state: PullerState, recall: RecallStage, transcripts: TranscriptsStage): number {
  const loaded = recall.kind === 'loaded' && recall.load.changed ? 1 : 0;
  const read = transcripts.kind === 'read' && transcripts.report.changed ? 1 : 0;
  return state.base_version + loaded + read;
}

/**
 * Nothing to go on with: every source the tick reads failed (repo-recall, and the transcripts
 * unless they are off). Its message is repo-recall's error as it was, so a puller without
 * transcripts fails in the same words as before, with the transcripts' beside it. Never a fatal
 * storage error: the stages throw those as they are.
 */
export class SourcesFailed extends Error {
  constructor(
    readonly repoRecall: Extract<RecallStage, { kind: 'failed' }>,
    readonly transcripts: TranscriptsStage,
  ) {
    super(transcripts.kind === 'failed' ? `${repoRecall.error}; ${transcripts.error}` : repoRecall.error, { cause: repoRecall.cause });
  }

  get errorClass(): UpstreamErrorClass | null {
    return this.repoRecall.errorClass;
  }
}

/** The views due now, at the data's version. */
async function materialize(deps: TickDeps, state: PullerState, version: number, scanVersion: number | null): Promise<ViewOutcome[]> {
  await applyViewInputs(deps.db, deps.inputs, state);
  return materializeDueViews(deps.db, deps.catalog, {
    baseVersion: version,
    scanVersion,
    nowEpoch: Date.now() / 1000,
    inputs: deps.inputs,
    ignoreIntervals: deps.ignoreIntervals,
    signal: deps.signal,
  });
}

/**
 * The next generation, when the working database holds anything readers have not been given
 * (this tick's, or what an earlier tick loaded or materialized but failed to publish) and there is
 * data at all. Owns the tick's one CHECKPOINT (publishGeneration).
 */
async function publish(deps: TickDeps, state: PullerState, version: number, clock: PhaseClock): Promise<{ generation: number; bytes: number } | null> {
  deps.signal?.throwIfAborted();
  if (version === 0 || !(await hasUnpublishedChanges(deps.db))) return null;
  const file = await publishGeneration(deps.db, deps.paths, state.generation + 1, () => clock.lap('checkpoint'));
  await clock.lap('publish');
  return file;
}

export async function runTick(deps: TickDeps): Promise<TickReport> {
  const t0 = performance.now();
  const clock = await PhaseClock.start();
  const state = await readState(deps.db);
  const recall = await stageRepoRecall(deps, state, clock);
  const transcripts = await stageTranscripts({ db: deps.db, transcripts: deps.transcripts ?? null, signal: deps.signal }, clock);
  if (recall.kind === 'failed' && transcripts.kind !== 'read') throw new SourcesFailed(recall, transcripts);
  deps.signal?.throwIfAborted();
  const version = versionAfter(state, recall, transcripts);
  const views = await materialize(deps, state, version, recall.scanVersion);
  await clock.lap('views');
  const file = await publish(deps, state, version, clock);
  const sessions = recall.kind === 'loaded' ? recall.load.sessions : state.session_count;
  return {
    outcome: file ? 'published' : recall.kind === 'held' ? 'held' : 'unchanged',
    generation: file?.generation ?? state.generation,
    // A tick that loaded nothing publishes what an earlier load left (views come due): its sessions.
    published: file && { bytes: file.bytes, sessions },
    ...reportOfSources(recall, transcripts),
    views,
    phases: clock.ms,
    durationMs: performance.now() - t0,
    writeBytes: await clock.writes(),
  };
}

/** The sources' part of the report, with repo-recall's shorthands. */
function reportOfSources(
  recall: RecallStage,
  transcripts: TranscriptsStage,
): Omit<TickReport, 'outcome' | 'generation' | 'published' | 'views' | 'phases' | 'durationMs' | 'writeBytes'> {
  const failedSources: TickReport['failedSources'] = [];
  if (recall.kind === 'failed') failedSources.push('repo-recall');
  if (transcripts.kind === 'failed') failedSources.push('transcripts');
  return {
    repoRecall: recall,
    transcripts,
    failedSources,
    upstream: recall.kind,
    scanVersion: recall.scanVersion,
    bytes: recall.bytes,
    load: recall.kind === 'loaded' ? recall.load : null,
    repairedSurrogates: recall.repairedSurrogates,
    held: recall.kind === 'held' ? recall.held : null,
    acceptedShrink: recall.kind === 'loaded' ? recall.acceptedShrink : null,
    warnings: [
      ...recall.warnings,
      ...(recall.kind === 'failed' ? [`repo-recall failed (the tick went on with the transcripts): ${recall.error}`] : []),
      ...(transcripts.kind === 'failed' ? [`${transcripts.error} (the tick went on without them)`] : []),
      ...(transcripts.kind === 'read' ? transcripts.report.warnings : []),
    ],
  };
}
