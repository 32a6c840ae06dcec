import type { Agent } from 'undici';
import type { ViewDefinition } from '../shared/catalog/index.js';
import type { HomePaths } from '../shared/paths.js';
import type { HeldPayload } from '../shared/status.js';
import { fetchSessions, type FetchProgress, type FetchResult } from './fetch.js';
import { clearHeld, heldPayloadReport, readHeld, recordHeld } from './held-payload.js';
import { hasElementDigests, type ElementIndex } from './element-index.js';
import { FullLoadNeeded, loadBaseTables, type LoadResult } from './load.js';
import { PhaseClock, type PhaseFigures } from './phase-clock.js';
import { materializeDueViews, type ViewOutcome } from './materialize.js';
import { PayloadShapeError, type PayloadHeader } from './payload-splitter.js';
import { publishGeneration } from './publish.js';
import { judgePayload, type GuardSettings, type Verdict } from './shrink-guard.js';
import { hasUnpublishedChanges, readState, rememberEtag, type PullerState } from './state.js';
import { UpstreamError, type UpstreamErrorClass } from './upstream-error.js';
import { applyViewInputs, type ViewInputs } from './view-inputs.js';
import type { WorkDb } from './work-db.js';
import { dropStaging, StagingSink } from './staging.js';

export interface TickDeps {
  db: WorkDb;
  /** The digests of the loaded payload's elements, kept between ticks (see ElementIndex). */
  index: ElementIndex;
  agent: Agent;
  paths: HomePaths;
  catalog: readonly ViewDefinition[];
  upstream: { baseUrl: string; maxBytes: number; retries: number; deadlineSeconds: number; timeoutSeconds: number };
  guard: GuardSettings;
  /** The zone and prices the views are materialized with. */
  inputs: ViewInputs;
  /** A one-shot `pull`: every view is brought up to the data just loaded, whatever its interval. */
  ignoreIntervals?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: FetchProgress) => void;
  onRetry?: (attempt: number, reason: string, delayMs: number, errorClass: UpstreamErrorClass) => void;
}

export interface TickReport {
  /** `held`: upstream sent a payload the shrink guard holds back (published nothing for it). */
  outcome: 'published' | 'unchanged' | 'held';
  /** The generation now published (the new one, or the one already there). */
  generation: number;
  /** What this tick published, when it did: the file's size (stat after the rename) and the sessions it holds. */
  published: { bytes: number; sessions: number } | null;
  /** What upstream's answer came to: a 304, a 200 identical to what is loaded, a load, or held back. */
  upstream: 'not-modified' | 'identical' | 'loaded' | 'held';
  scanVersion: number | null;
  bytes: number;
  load: LoadResult | null;
  repairedSurrogates: number;
  views: ViewOutcome[];
  /** The payload the shrink guard held back this tick, with what it would have replaced. */
  held: HeldPayload | null;
  /** A suspicious payload loaded anyway: it repeated enough, or `--accept-shrink` said so. */
  acceptedShrink: Extract<Verdict, { kind: 'accept' }>['overrode'];
  /** Where the time went, in ms: fetch (download + split), load, views, checkpoint (of the working database), publish (its copy). */
  phases: PhaseFigures;
  /** What went wrong without failing the tick. */
  warnings: string[];
  durationMs: number;
  /** Bytes the tick wrote to storage, in all and by phase (/proc/self/io; null where the system does not say). */
  writeBytes: { total: number; phases: PhaseFigures } | null;
}

function integerField(header: PayloadHeader, key: string, required: boolean): number | null {
  const value = header[key];
  if (value === undefined || value === null) {
    if (required) throw new PayloadShapeError(`"${key}" is missing`);
    return null;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new PayloadShapeError(`"${key}" is ${JSON.stringify(value)}, not an integer`);
  }
  return value;
}

/** Thrown by the load's vetting to roll it back: the guard holds the payload. */
class HoldSignal extends Error {
  constructor(
    readonly verdict: Extract<Verdict, { kind: 'hold' }>,
    readonly sessions: number,
  ) {
    super('held back by the shrink guard');
  }
}

/** A 304 answers "you already have it": with nothing loaded, that is upstream (or a proxy) being wrong. */
function notModifiedWithNothingLoaded(baseUrl: string): UpstreamError {
  return new UpstreamError(
    `repo-recall at ${baseUrl} answered 304 Not Modified to a request that had nothing to compare against ` +
      `(nothing is loaded yet, so no If-None-Match was sent); there is no data to keep and nothing was published. ` +
      `Check what answers at that address (a caching proxy?) and that repo-recall serves GET /api/sessions`,
    false,
    'status',
  );
}

type Payload = Extract<FetchResult, { kind: 'payload' }>;

interface Taken {
  upstream: TickReport['upstream'];
  load: LoadResult | null;
  scanVersion: number | null;
  held: HeldPayload | null;
  acceptedShrink: TickReport['acceptedShrink'];
}

/**
 * What a 200 comes to: nothing when it is the payload already loaded (whatever its headers say),
 * held back when the guard says so, otherwise a load (committed with the guard's bookkeeping).
 */
async function takePayload(deps: TickDeps, state: PullerState, fetched: Payload): Promise<Taken> {
  const full = fetched.stagedAll;
  const { db, paths, index } = deps;
  const scanVersion = integerField(fetched.header, 'scan_version', true);
  const generatedAt = integerField(fetched.header, 'generated_at', false);
  if (state.base_version > 0 && fetched.fingerprint === state.payload_sha256) {
    // Its ETag still saves the next download, if upstream honours If-None-Match.
    if (fetched.etag !== state.etag) await rememberEtag(db, fetched.etag);
    await clearHeld(db);
    return { upstream: 'identical', load: null, scanVersion: state.scan_version, held: null, acceptedShrink: null };
  }
  const prior = await readHeld(db);
  let acceptedShrink: TickReport['acceptedShrink'] = null;
  try {
    const gone = full ? [] : index.unseen();
    const staged = {
      elements: fetched.elements,
      staged: fetched.staged,
      passed: fetched.stagedDigests,
      mode: full ? ('full' as const) : ('changed' as const),
      gone,
    };
    const load = await loadBaseTables(
      db,
      staged,
      { etag: fetched.etag, scanVersion, upstreamGeneratedAt: generatedAt, fingerprint: fetched.fingerprint },
      async (sessions) => {
        const verdict = judgePayload(
          { baseVersion: state.base_version, sessions: state.session_count, scanVersion: state.scan_version },
          { fingerprint: fetched.fingerprint, sessions, scanVersion },
          prior && { fingerprint: prior.fingerprint, seenTicks: prior.seen_ticks },
          deps.guard,
        );
        if (verdict.kind === 'hold') throw new HoldSignal(verdict, sessions);
        acceptedShrink = verdict.overrode;
        if (prior) await clearHeld(db);
      },
    );
    if (full) index.resetTo(load.addedDigests);
    else index.apply(gone, load.addedDigests);
    return { upstream: 'loaded', load, scanVersion, held: null, acceptedShrink };
  } catch (err) {
    if (!(err instanceof HoldSignal)) {
      // Whatever the load got to, the table is the truth: read it again next time.
      if (!(err instanceof FullLoadNeeded)) index.reset();
      throw err;
    }
    const record = await recordHeld(db, {
      fingerprint: fetched.fingerprint,
      reasons: err.verdict.reasons,
      sessions: err.sessions,
      scan_version: scanVersion,
      seen_ticks: err.verdict.seenTicks,
    });
    const held = heldPayloadReport(record, { sessions: state.session_count, scanVersion: state.scan_version }, err.verdict.confirmTicks);
    return { upstream: 'held', load: null, scanVersion: state.scan_version, held, acceptedShrink: null };
  }
}

/**
 * One tick: fetch (or learn nothing changed), load (unless the payload is the one loaded, or the
 * shrink guard holds it back), materialize due views, publish if anything changed. Throws on
 * failure, having published nothing: the working database's transactions leave the previous base
 * data and ETag in place.
 */
export async function runTick(deps: TickDeps): Promise<TickReport> {
  const t0 = performance.now();
  const clock = await PhaseClock.start();
  const { db, paths } = deps;
  const state = await readState(db);
  let taken: Taken = { upstream: 'not-modified', load: null, scanVersion: state.scan_version, held: null, acceptedShrink: null };
  let bytes = 0;
  let repairedSurrogates = 0;
  const warnings: string[] = [];
  try {
    let secondPass = false;
    const prepare = async () => {
      // Nothing to compare against (a first load, or a puller from before digests): stage everything.
      if (secondPass || state.base_version === 0 || !(await hasElementDigests(db))) return { all: true };
      await deps.index.ensureLoaded(db);
      return { all: false };
    };
    for (;;) {
      const fetched = await fetchSessions(deps.agent, {
        baseUrl: deps.upstream.baseUrl,
        // A second, full pass must get the payload, not a 304.
        etag: secondPass ? null : state.etag,
        stage: { index: deps.index, prepare, sink: () => new StagingSink(db, paths.incoming) },
        maxBytes: deps.upstream.maxBytes,
        retries: deps.upstream.retries,
        deadlineMs: deps.upstream.deadlineSeconds * 1000,
        paceWindowMs: deps.upstream.timeoutSeconds * 1000,
        signal: deps.signal,
        onProgress: deps.onProgress,
        onRetry: deps.onRetry,
      });
      await clock.lap('fetch');
      if (fetched.kind === 'not-modified') {
        if (state.base_version === 0) throw notModifiedWithNothingLoaded(deps.upstream.baseUrl);
        await clearHeld(db);
        break;
      }
      bytes += fetched.bytes;
      repairedSurrogates = fetched.repairedSurrogates;
      if (fetched.rejectedEtag !== null) {
        warnings.push(
          `repo-recall sent an ETag that is not a valid entity tag (${JSON.stringify(fetched.rejectedEtag)}): it is not sent back, so every pull downloads the whole payload`,
        );
      }
      try {
        taken = await takePayload(deps, state, fetched);
        await clock.lap('load');
        break;
      } catch (err) {
        if (!(err instanceof FullLoadNeeded) || fetched.stagedAll) throw err;
        // Rare (upstream repeating a session id): download again and stage everything.
        await clock.lap('load');
        warnings.push(`${err.message}; downloaded the payload again for it`);
        secondPass = true;
      }
    }
  } finally {
    // Held back, identical or failed: what was staged is not needed any more.
    await dropStaging(db);
  }

  deps.signal?.throwIfAborted();
  const baseVersion = taken.load?.changed ? state.base_version + 1 : state.base_version;
  await applyViewInputs(db, deps.inputs, state);
  const views = await materializeDueViews(db, deps.catalog, {
    baseVersion,
    scanVersion: taken.scanVersion,
    nowEpoch: Date.now() / 1000,
    inputs: deps.inputs,
    ignoreIntervals: deps.ignoreIntervals,
    signal: deps.signal,
  });
  await clock.lap('views');
  // Also what an earlier tick loaded or materialized but failed to publish.
  const changed = await hasUnpublishedChanges(db);
  let generation = state.generation;
  let published: TickReport['published'] = null;
  deps.signal?.throwIfAborted();
  if (changed && baseVersion > 0) {
    // Folds the tick's WAL into the working database, which the publish then copies (timed apart).
    await db.run('CHECKPOINT');
    await clock.lap('checkpoint');
    const file = await publishGeneration(db, paths, state.generation + 1);
    generation = file.generation;
    // A 304 tick publishes what an earlier load left (views come due): that load's sessions.
    published = { bytes: file.bytes, sessions: taken.load?.sessions ?? state.session_count };
    await clock.lap('publish');
  }
  return {
    outcome: generation !== state.generation ? 'published' : taken.held ? 'held' : 'unchanged',
    generation,
    published,
    upstream: taken.upstream,
    scanVersion: taken.scanVersion,
    bytes,
    load: taken.load,
    repairedSurrogates,
    views,
    held: taken.held,
    acceptedShrink: taken.acceptedShrink,
    phases: clock.ms,
    warnings,
    durationMs: performance.now() - t0,
    writeBytes: await clock.writes(),
  };
}
