import { rm } from 'node:fs/promises';
import type { Agent } from 'undici';
import type { ViewDefinition } from '../shared/catalog/index.js';
import { errorMessage } from '../shared/errors.js';
import type { HomePaths } from '../shared/paths.js';
import { fetchSessions, type FetchProgress } from './fetch.js';
import { loadBaseTables, type LoadResult } from './load.js';
import { materializeDueViews, type ViewOutcome } from './materialize.js';
import { PayloadShapeError, type PayloadHeader } from './payload-splitter.js';
import { publishGeneration } from './publish.js';
import { hasUnpublishedChanges, readState } from './state.js';
import { UpstreamError } from './upstream-error.js';
import type { WorkDb } from './work-db.js';

export interface TickDeps {
  db: WorkDb;
  agent: Agent;
  paths: HomePaths;
  catalog: readonly ViewDefinition[];
  upstream: { baseUrl: string; maxBytes: number; retries: number; deadlineSeconds: number; timeoutSeconds: number };
  signal?: AbortSignal;
  onProgress?: (progress: FetchProgress) => void;
  onRetry?: (attempt: number, reason: string, delayMs: number) => void;
}

export interface TickReport {
  outcome: 'published' | 'unchanged';
  /** The generation now published (the new one, or the one already there). */
  generation: number;
  upstream: 'not-modified' | 'loaded';
  scanVersion: number | null;
  bytes: number;
  load: LoadResult | null;
  repairedSurrogates: number;
  views: ViewOutcome[];
  /** Where the time went, in ms: fetch (download + split), load, views, publish, then the checkpoint after it. */
  phases: { fetch: number; load: number; views: number; publish: number; checkpoint: number };
  /** What went wrong without failing the tick. */
  warnings: string[];
  durationMs: number;
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

/**
 * One tick: fetch (or learn nothing changed), load, materialize due views, publish if anything
 * changed. Throws on failure, having published nothing: the working database's transactions
 * leave the previous base data and ETag in place.
 */
export async function runTick(deps: TickDeps): Promise<TickReport> {
  const t0 = performance.now();
  const { db, paths } = deps;
  const state = await readState(db);
  let load: LoadResult | null = null;
  let scanVersion = state.scan_version;
  let bytes = 0;
  let repairedSurrogates = 0;
  const phases = { fetch: 0, load: 0, views: 0, publish: 0, checkpoint: 0 };
  const warnings: string[] = [];
  let mark = performance.now();
  const lap = (phase: keyof typeof phases) => {
    const now = performance.now();
    phases[phase] += now - mark;
    mark = now;
  };
  try {
    const fetched = await fetchSessions(deps.agent, {
      baseUrl: deps.upstream.baseUrl,
      etag: state.etag,
      dest: paths.incoming,
      maxBytes: deps.upstream.maxBytes,
      retries: deps.upstream.retries,
      deadlineMs: deps.upstream.deadlineSeconds * 1000,
      paceWindowMs: deps.upstream.timeoutSeconds * 1000,
      signal: deps.signal,
      onProgress: deps.onProgress,
      onRetry: deps.onRetry,
    });
    lap('fetch');
    if (fetched.kind === 'not-modified' && state.base_version === 0) throw notModifiedWithNothingLoaded(deps.upstream.baseUrl);
    if (fetched.kind === 'payload') {
      if (fetched.rejectedEtag !== null) {
        warnings.push(
          `repo-recall sent an ETag that is not a valid entity tag (${JSON.stringify(fetched.rejectedEtag)}): it is not sent back, so every pull downloads the whole payload`,
        );
      }
      scanVersion = integerField(fetched.header, 'scan_version', true);
      const generatedAt = integerField(fetched.header, 'generated_at', false);
      bytes = fetched.bytes;
      repairedSurrogates = fetched.repairedSurrogates;
      load = await loadBaseTables(db, paths.incoming, fetched.elements, {
        etag: fetched.etag,
        scanVersion,
        upstreamGeneratedAt: generatedAt,
      });
      lap('load');
    }
  } finally {
    await rm(paths.incoming, { force: true });
  }

  deps.signal?.throwIfAborted();
  const baseVersion = load ? state.base_version + 1 : state.base_version;
  const views = await materializeDueViews(db, deps.catalog, {
    baseVersion,
    scanVersion,
    nowEpoch: Date.now() / 1000,
    signal: deps.signal,
  });
  lap('views');
  // Also what an earlier tick loaded or materialized but failed to publish.
  const changed = await hasUnpublishedChanges(db);
  let generation = state.generation;
  deps.signal?.throwIfAborted();
  if (changed && baseVersion > 0) {
    const published = await publishGeneration(db, paths, state.generation + 1);
    generation = published.generation;
    lap('publish');
    // Fold the load into the file now that readers have it, so the WAL never piles up loads. The
    // generation is out already: a failure here is a warning (the next tick checkpoints again).
    await db.run('CHECKPOINT').catch((err: unknown) => warnings.push(`checkpoint after publishing failed: ${errorMessage(err)}`));
    lap('checkpoint');
  }
  return {
    outcome: generation !== state.generation ? 'published' : 'unchanged',
    generation,
    upstream: load ? 'loaded' : 'not-modified',
    scanVersion,
    bytes,
    load,
    repairedSurrogates,
    views,
    phases,
    warnings,
    durationMs: performance.now() - t0,
  };
}
