import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';

/**
 * The on-disk layout of a home. Everything the two daemons share is here: the puller writes
 * under `puller/` and publishes `session-lattice.duckdb`; the reads server only reads.
 */
export interface HomePaths {
  readonly home: string;
  /** The published generation: replaced atomically, never opened read-write by anyone. */
  readonly published: string;
  /** The puller's private directory. */
  readonly pullerDir: string;
  /** The puller's working database; its DuckDB write lock is also the single-puller lock. */
  readonly workDb: string;
  /** Puller health, replaced atomically on every change. */
  readonly status: string;
  /** Where the puller stages the upstream payload as newline-delimited JSON during a tick. */
  readonly incoming: string;
  /** The puller's event log (one JSON event per line, src/shared/events.ts); appended to, rotated by size. */
  readonly events: string;
  /** The event log before its last rotation (replaced by each rotation). */
  readonly eventsRotated: string;
  /** The puller's cumulative figures for /metrics (src/shared/puller-metrics.ts), replaced atomically after each tick. */
  readonly metrics: string;
}

const PUBLISHED_FILE = 'session-lattice.duckdb';

export function defaultHome(): string {
  return join(homedir(), '.session-lattice');
}

export function expandHome(dir: string): string {
  if (dir === '~') return homedir();
  if (dir.startsWith('~/')) return join(homedir(), dir.slice(2));
  return resolve(dir);
}

export function homePaths(home: string): HomePaths {
  const root = expandHome(home);
  const pullerDir = join(root, 'puller');
  return {
    home: root,
    published: join(root, PUBLISHED_FILE),
    pullerDir,
    workDb: join(pullerDir, 'work.duckdb'),
    status: join(pullerDir, 'status.json'),
    incoming: join(pullerDir, 'incoming.ndjson'),
    events: join(pullerDir, 'events.jsonl'),
    eventsRotated: join(pullerDir, 'events.1.jsonl'),
    metrics: join(pullerDir, 'metrics.json'),
  };
}

const STAGING_PREFIX = `.${PUBLISHED_FILE}.gen-`;

/**
 * A generation is built beside the published path (same directory, so the same filesystem and an
 * atomic rename), under a dot-name that says which generation and which puller made it.
 */
export function stagingPath(paths: HomePaths, generation: number, pid: number): string {
  return join(paths.home, `${STAGING_PREFIX}${generation}.${pid}.tmp`);
}

/** True for a staging file (or its DuckDB side files) that a killed puller may have left. */
export function isStagingFile(path: string): boolean {
  const name = basename(path);
  return name.startsWith(STAGING_PREFIX) && /\.tmp(\.wal)?$/.test(name);
}
