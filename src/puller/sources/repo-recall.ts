import type { Agent } from 'undici';
import { errorMessage } from '../../shared/errors.js';
import type { HomePaths } from '../../shared/paths.js';
import type { HeldPayload } from '../../shared/status.js';
import { ChangedLines } from '../changed-lines.js';
import { hasElementDigests, type ElementIndex } from '../element-index.js';
import { fatalCause } from '../fatal-errors.js';
import { fetchSessions, type BodyStage, type FetchProgress, type FetchResult } from '../fetch.js';
import { clearHeld, heldPayloadReport, readHeld, recordHeld } from '../held-payload.js';
import { loadBaseTables, type LoadOutcome, type LoadResult } from '../load.js';
import { PayloadShapeError, type PayloadHeader } from '../payload-splitter.js';
import type { PhaseClock } from '../phase-clock.js';
import { judgePayload, type GuardSettings, type Verdict } from '../shrink-guard.js';
import { dropStaging, StagingSink } from '../staging.js';
import { recallLoaded, rememberEtag, type PullerState } from '../state.js';
import { UpstreamError, type UpstreamErrorClass } from '../upstream-error.js';
import type { WorkDb } from '../work-db.js';

/**
 * The repo-recall source as one stage of a tick: fetch `/api/sessions` (with the ETag), vet it
 * with the shrink guard, load it. It returns what it staged, never throws for it: a failure of
 * repo-recall (unreachable, a bad answer, a payload nobody can read) is a value, so the other
 * source's data still loads. Only a shutdown and a fatal storage error (fatal-errors.ts) are
 * thrown: neither is repo-recall's doing, and the tick cannot go on after them.
 */

export interface RecallDeps {
  db: WorkDb;
  /** The digests of the loaded payload's elements, kept between ticks (see ElementIndex). */
  index: ElementIndex;
  agent: Agent;
  paths: HomePaths;
  upstream: { baseUrl: string; maxBytes: number; retries: number; deadlineSeconds: number; timeoutSeconds: number };
  guard: GuardSettings;
  signal?: AbortSignal;
  onProgress?: (progress: FetchProgress) => void;
  onRetry?: (attempt: number, reason: string, delayMs: number, errorClass: UpstreamErrorClass) => void;
}

/** What every outcome carries: the scan loaded after the stage, and what the download came to. */
interface Figures {
  /** The scan_version loaded after this stage (the one already loaded unless `loaded`). */
  scanVersion: number | null;
  /** Payload bytes received (0 for a 304 or a failure before a body). */
  bytes: number;
  repairedSurrogates: number;
  /** What went wrong without failing the stage. */
  warnings: string[];
}

export type RecallStage = Figures &
  (
    | { kind: 'not-modified' }
    /** A 200 with the very bytes already loaded. */
    | { kind: 'identical' }
    | {
        kind: 'loaded';
        load: LoadResult;
        /** A suspicious payload loaded anyway: it repeated enough, or `--accept-shrink` said so. */
        acceptedShrink: Extract<Verdict, { kind: 'accept' }>['overrode'];
      }
    /** The shrink guard held the payload back (nothing loaded). */
    | { kind: 'held'; held: HeldPayload }
    | {
        kind: 'failed';
        /** The sentence a person reads (the error's message). */
        error: string;
        /** Set when upstream failed (the request or its answer), not the payload's contents. */
        errorClass: UpstreamErrorClass | null;
        /** What was thrown, for a tick that has nothing else to go on with (it rethrows it). */
        cause: unknown;
      }
  );

/** What the staging of a body came to (see ChangedLines). */
interface Staged {
  /** Every element staged (a full load), or only those the index did not hold. */
  all: boolean;
  /** Elements written to the staging file, and their digests in order. */
  written: number;
  passed: string[];
}

type Payload = Extract<FetchResult<Staged>, { kind: 'payload' }>;

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

/** How a body is staged: changed elements only (against the index), or all of them; into temp.staging. */
function bodyStage(deps: RecallDeps, state: PullerState, forceFull: boolean): () => Promise<BodyStage<Staged>> {
  const { db, index, paths } = deps;
  return async () => {
    // Nothing to compare against (a first load, or a puller from before digests): stage everything.
    const all = forceFull || !recallLoaded(state) || !(await hasElementDigests(db));
    if (!all) await index.ensureLoaded(db);
    const changed = new ChangedLines(index, all);
    return {
      streams: [changed],
      sink: new StagingSink(db, paths.incoming),
      result: () => ({ all, written: changed.written, passed: changed.passed }),
    };
  };
}

/** What the guard said when it held a payload back, with the payload's valid sessions. */
interface Hold {
  verdict: Extract<Verdict, { kind: 'hold' }>;
  sessions: number;
}

type Taken =
  | { kind: 'identical' }
  | { kind: 'needs-full'; reason: string }
  | { kind: 'loaded'; load: LoadResult; acceptedShrink: Extract<Verdict, { kind: 'accept' }>['overrode'] }
  | { kind: 'held'; held: HeldPayload };

/**
 * What a 200 comes to: nothing when it is the payload already loaded (whatever its headers say),
 * held back when the guard says so, a full load needed, otherwise a load (committed with the
 * guard's bookkeeping).
 */
async function takePayload(deps: RecallDeps, state: PullerState, fetched: Payload, scanVersion: number | null): Promise<Taken> {
  const { db, index } = deps;
  const full = fetched.staged.all;
  const generatedAt = integerField(fetched.header, 'generated_at', false);
  if (recallLoaded(state) && fetched.fingerprint === state.payload_sha256) {
    // Its ETag still saves the next download, if upstream honours If-None-Match.
    if (fetched.etag !== state.etag) await rememberEtag(db, fetched.etag);
    await clearHeld(db);
    return { kind: 'identical' };
  }
  const prior = await readHeld(db);
  let acceptedShrink: Extract<Verdict, { kind: 'accept' }>['overrode'] = null;
  const gone = full ? [] : index.unseen();
  const staged = {
    elements: fetched.elements,
    staged: fetched.staged.written,
    passed: fetched.staged.passed,
    mode: full ? ('full' as const) : ('changed' as const),
    gone,
  };
  let outcome: LoadOutcome<Hold>;
  try {
    outcome = await loadBaseTables<Hold>(
      db,
      staged,
      { etag: fetched.etag, scanVersion, upstreamGeneratedAt: generatedAt, fingerprint: fetched.fingerprint },
      async (sessions) => {
        const verdict = judgePayload(
          // Messages from the transcripts alone are no payload to shrink from.
          { baseVersion: recallLoaded(state) ? state.base_version : 0, sessions: state.session_count, scanVersion: state.scan_version },
          { fingerprint: fetched.fingerprint, sessions, scanVersion },
          prior && { fingerprint: prior.fingerprint, seenTicks: prior.seen_ticks },
          deps.guard,
        );
        if (verdict.kind === 'hold') return { hold: { verdict, sessions } };
        acceptedShrink = verdict.overrode;
        return { commit: async () => (prior ? clearHeld(db) : undefined) };
      },
    );
  } catch (err) {
    // Whatever the load got to, the table is the truth: read it again next time.
    index.reset();
    throw err;
  }
  switch (outcome.kind) {
    case 'needs-full':
      return { kind: 'needs-full', reason: outcome.reason };
    case 'held': {
      const { verdict, sessions } = outcome.hold;
      const record = await recordHeld(db, {
        fingerprint: fetched.fingerprint,
        reasons: verdict.reasons,
        sessions,
        scan_version: scanVersion,
        seen_ticks: verdict.seenTicks,
      });
      const held = heldPayloadReport(record, { sessions: state.session_count, scanVersion: state.scan_version }, verdict.confirmTicks);
      return { kind: 'held', held };
    }
    case 'loaded': {
      const { kind: _loaded, ...load } = outcome;
      if (full) index.resetTo(load.addedDigests);
      else index.apply(gone, load.addedDigests);
      return { kind: 'loaded', load, acceptedShrink };
    }
  }
}

/**
 * Fetch, guard and load; a payload whose changed elements cannot be settled alone (a repeated
 * session id) is downloaded again and loaded in full. Staging is dropped whatever happens.
 */
async function pullAndLoad(deps: RecallDeps, state: PullerState, clock: PhaseClock, figures: Figures): Promise<RecallStage> {
  const { db } = deps;
  let forceFull = false;
  for (;;) {
    const fetched = await fetchSessions(deps.agent, {
      baseUrl: deps.upstream.baseUrl,
      // A second, full pass must get the payload, not a 304.
      etag: forceFull ? null : state.etag,
      stage: bodyStage(deps, state, forceFull),
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
      if (!recallLoaded(state)) throw notModifiedWithNothingLoaded(deps.upstream.baseUrl);
      await clearHeld(db);
      return { kind: 'not-modified', ...figures };
    }
    figures.bytes += fetched.bytes;
    figures.repairedSurrogates = fetched.repairedSurrogates;
    if (fetched.rejectedEtag !== null) {
      figures.warnings.push(
        `repo-recall sent an ETag that is not a valid entity tag (${JSON.stringify(fetched.rejectedEtag)}): it is not sent back, so every pull downloads the whole payload`,
      );
    }
    const scanVersion = integerField(fetched.header, 'scan_version', true);
    const taken = await takePayload(deps, state, fetched, scanVersion);
    await clock.lap('load');
    if (taken.kind === 'needs-full' && !fetched.staged.all) {
      // Rare (upstream repeating a session id): download again and stage everything.
      figures.warnings.push(`${taken.reason}; downloaded the payload again for it`);
      forceFull = true;
      continue;
    }
    switch (taken.kind) {
      case 'needs-full':
        // A full load never needs another: its staged rows settle every repeated id.
        throw new Error(`a full load reported a repeated id it cannot settle: ${taken.reason}`);
      case 'identical':
        return { kind: 'identical', ...figures };
      case 'held':
        return { kind: 'held', held: taken.held, ...figures };
      case 'loaded':
        return { kind: 'loaded', load: taken.load, acceptedShrink: taken.acceptedShrink, ...figures, scanVersion };
    }
  }
}

export async function stageRepoRecall(deps: RecallDeps, state: PullerState, clock: PhaseClock): Promise<RecallStage> {
  const figures: Figures = { scanVersion: state.scan_version, bytes: 0, repairedSurrogates: 0, warnings: [] };
  try {
    return await pullAndLoad(deps, state, clock, figures);
  } catch (err) {
    if (deps.signal?.aborted || fatalCause(err, deps.db.path) !== null) throw err;
    const errorClass = err instanceof UpstreamError ? err.errorClass : null;
    return { kind: 'failed', error: errorMessage(err), errorClass, cause: err, ...figures, scanVersion: state.scan_version };
  } finally {
    // Held back, identical or failed: what was staged is not needed any more.
    await dropStaging(deps.db);
  }
}
