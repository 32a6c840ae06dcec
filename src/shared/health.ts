import type { HomeDisk } from './disk-space.js';
import { formatBytes } from './format-bytes.js';
import type { PullerStatus } from './status.js';

/**
 * The one health verdict. `/healthz`, `session-lattice status`, the MCP `lattice_status` tool and
 * the web UI all show what `assessHealth` says, in its words, so a person reads the same verdict
 * and the same reasons wherever they look.
 *
 * - `failing`: the data is not being kept current and will not be without someone acting: it is
 *   older than stale-after-intervals refresh intervals, the puller's last FAILING_AFTER_FAILED_TICKS
 *   ticks failed in a row, the published snapshot cannot be opened, or the home's filesystem has
 *   no room for the puller (below DISK_FULL_BYTES free, or less than the published file's size: a
 *   publish copies the working database, at least that big, beside it). `/healthz` answers 503 and
 *   `status` exits 1.
 * - `starting`: nothing is published yet, and nothing above is wrong (the first pull has not
 *   finished, or no puller has run). `/healthz` answers 503 and `status` exits 1: there is nothing
 *   to read yet.
 * - `degraded`: served and current, but something needs a look: a tick failed (fewer times in a
 *   row than failing needs: the next try is seconds away), one source failed while the tick went
 *   on with the other (however long it lasts: never failing by itself), a transcripts directory
 *   cannot be read, the puller is not running, a view failed
 *   to refresh, a payload is held back, status.json cannot be read, a newer snapshot cannot be
 *   opened. `/healthz` answers 200, `status` exits 0 (1 with --strict).
 * - `ok`: none of that.
 *
 * Pure: what was read, the liveness of the puller's process and the clock come in as arguments.
 */

export type HealthVerdict = 'ok' | 'degraded' | 'failing' | 'starting';
export const HEALTH_VERDICTS: readonly HealthVerdict[] = ['ok', 'degraded', 'failing', 'starting'];

/** A failed tick is retried within seconds; this many failures in a row is no longer a blip. */
export const FAILING_AFTER_FAILED_TICKS = 3;

/**
 * Below this much free space the puller cannot write at all: DuckDB grows its files by 256 KiB
 * blocks, and metrics.json alone is about 100 KB.
 */
export const DISK_FULL_BYTES = 1_000_000;

export interface HealthReason {
  /** What the reason does to the verdict (`starting`: the one that says nothing is published yet). */
  severity: 'failing' | 'starting' | 'degraded';
  text: string;
}

export interface HealthInputs {
  /** The published generation (served, for the reads server); null when there is none. */
  snapshot: { generation: number; published_at: string; views: ReadonlyArray<{ name: string; last_error: string | null }> } | null;
  /**
   * Why the published file cannot be opened: with `snapshot` null, the only one there is; with a
   * snapshot, a newer one (the reads server keeps serving the older).
   */
  snapshotError: string | null;
  /** status.json; null when no puller has run on this home (or it cannot be read: statusError). */
  status: PullerStatus | null;
  statusError: string | null;
  /** The process named by the status is alive and did not record a clean stop. */
  pullerRunning: boolean;
  /**
   * The home's filesystem (statfs, read by the reads server and `status` themselves: a puller on a
   * full disk cannot write status.json to say so). Absent or null when it could not be asked.
   */
  disk?: HomeDisk | null;
  now: number;
  settings: {
    staleAfterIntervals: number;
    /** The refresh interval assumed when no puller has said its own. */
    refreshIntervalSeconds: number;
  };
}

export interface HealthAssessment {
  verdict: HealthVerdict;
  /** Failing ones first, then the starting one, then degraded ones, each in a fixed order. */
  reasons: HealthReason[];
  /**
   * Seconds since the data was last known current: the later of the publish and the puller's last
   * successful tick for this generation (a tick that finds upstream unchanged publishes nothing).
   */
  dataAgeSeconds: number | null;
  /** dataAgeSeconds above which the data is stale. */
  staleAfterSeconds: number;
}

export function assessHealth(input: HealthInputs): HealthAssessment {
  const { snapshot, status, now, settings } = input;
  const failing: string[] = [];
  const degraded: string[] = [];

  const interval = status?.refresh_interval_seconds ?? settings.refreshIntervalSeconds;
  const staleAfterSeconds = interval * settings.staleAfterIntervals;
  const dataAgeSeconds = snapshot ? dataAge(snapshot, status, input.snapshotError !== null, now) : null;

  if (!snapshot && input.snapshotError) failing.push(`the published snapshot cannot be opened: ${input.snapshotError}`);
  if (snapshot && input.snapshotError) degraded.push(`a newer published snapshot cannot be opened: ${input.snapshotError}`);
  if (dataAgeSeconds !== null && dataAgeSeconds > staleAfterSeconds) {
    failing.push(
      `the data is stale: last known current ${words(dataAgeSeconds)} ago, more than ${settings.staleAfterIntervals} refresh intervals (${words(staleAfterSeconds)})`,
    );
  }

  const disk = input.disk;
  if (disk && disk.freeBytes < DISK_FULL_BYTES) {
    failing.push(
      `no space left on device at ${disk.home}, ${formatBytes(disk.freeBytes)} free: the puller cannot write; free some space (it resumes by itself)`,
    );
  } else if (disk?.publishedBytes && disk.freeBytes < disk.publishedBytes) {
    failing.push(
      `not enough space left on device at ${disk.home} to publish, ${formatBytes(disk.freeBytes)} free: ` +
        `a publish copies the working database, at least ${formatBytes(disk.publishedBytes)}; free some space (it resumes by itself)`,
    );
  }

  if (input.statusError) degraded.push(`the puller's status cannot be read: ${input.statusError}`);
  else if (!status) {
    degraded.push('no puller has run on this home: start one (session-lattice serve-puller, or brew services start session-lattice-puller)');
  } else {
    if (status.last_tick_outcome === 'failed') {
      const n = status.consecutive_failures;
      const error = status.last_error ?? 'unknown error';
      if (n >= FAILING_AFTER_FAILED_TICKS) failing.push(`the puller's last ${n} ticks failed: ${error}`);
      else degraded.push(`the puller's last tick failed (${n} in a row; failing after ${FAILING_AFTER_FAILED_TICKS}): ${error}`);
    }
    // One source failing while the tick went on with the other: degraded however long it lasts
    // (a newcomer without repo-recall still sees their own usage), never failing on its own.
    if (status.last_tick_outcome !== 'failed') degraded.push(...sourceReasons(status));
    const held = status.held_payload;
    if (held) {
      degraded.push(
        `the puller is holding back what repo-recall sent: ${held.reasons.join('; ')}; readers keep the data loaded before. ` +
          `Seen on ${held.seen_ticks} of ${held.confirm_ticks} consecutive pulls: it is published if it keeps coming, ` +
          `or at once with session-lattice pull --accept-shrink (with the puller service stopped)`,
      );
    }
    if (!input.pullerRunning) {
      degraded.push(`the puller is not running (pid ${status.pid} ${status.state === 'stopped' ? 'stopped' : 'is gone without stopping cleanly'})`);
    }
  }
  for (const view of snapshot?.views ?? []) {
    if (view.last_error) degraded.push(`view ${view.name} failed to refresh: ${view.last_error}`);
  }

  const verdict: HealthVerdict = failing.length > 0 ? 'failing' : !snapshot ? 'starting' : degraded.length > 0 ? 'degraded' : 'ok';
  const starting = !snapshot && !input.snapshotError ? ['nothing is published yet'] : [];
  return {
    verdict,
    reasons: [
      ...failing.map((text) => ({ severity: 'failing' as const, text })),
      ...starting.map((text) => ({ severity: 'starting' as const, text })),
      ...degraded.map((text) => ({ severity: 'degraded' as const, text })),
    ],
    dataAgeSeconds,
    staleAfterSeconds,
  };
}

/** Why a source is not well, from status.json's per-source sections, one sentence each. */
function sourceReasons(status: PullerStatus): string[] {
  const out: string[] = [];
  const recall = status.repo_recall;
  const transcripts = status.transcripts;
  const inARow = (n: number) => (n > 1 ? ` (${n} ticks in a row)` : '');
  const readTranscripts = transcripts?.outcome === 'read';
  if (recall?.outcome === 'failed') {
    out.push(
      `repo-recall at ${recall.url} failed${inARow(recall.consecutive_failures)}: ${recall.last_error ?? 'unknown error'}; ` +
        (readTranscripts ? `the transcripts were read and published without it (${transcripts.messages} messages)` : 'the data published before is kept'),
    );
  }
  if (transcripts?.outcome === 'failed') {
    out.push(
      `${transcripts.last_error ?? 'the transcripts could not be read'}${inARow(transcripts.consecutive_failures)}; repo-recall's sessions were published without them`,
    );
  }
  for (const dir of transcripts?.outcome === 'read' ? transcripts.directories : []) {
    if (!dir.readable) out.push(`the transcripts directory ${dir.path} cannot be read: the usage in it is missing`);
  }
  return out;
}

/**
 * The puller's last success vouches for the snapshot when it is of the same generation, or of a
 * newer one this reader is about to open; not for an older one kept because the newer one cannot
 * be opened (its data is as old as its publish).
 */
function dataAge(snapshot: { generation: number; published_at: string }, status: PullerStatus | null, newerUnopenable: boolean, now: number): number | null {
  let checked = Date.parse(snapshot.published_at);
  const pulled = status?.generation ?? 0;
  if (status?.last_success_at && (pulled === snapshot.generation || (pulled > snapshot.generation && !newerUnopenable))) {
    checked = Math.max(checked, Date.parse(status.last_success_at));
  }
  return Number.isNaN(checked) ? null : Math.max(0, Math.round((now - checked) / 100) / 10);
}

/** A duration for a sentence: 45 s, 12 min, 3.5 h, 2.1 days. */
function words(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 360) / 10} h`;
  return `${Math.round(seconds / 8640) / 10} days`;
}

/** `session-lattice status`'s exit code for a verdict: 1 when /healthz would answer 503, or for degraded with --strict. */
export function healthExitCode(verdict: HealthVerdict, strict: boolean): number {
  if (verdict === 'failing' || verdict === 'starting') return 1;
  return verdict === 'degraded' && strict ? 1 : 0;
}

/** `/healthz`'s status code for a verdict: 503 when a load balancer or a service check should act. */
export function healthHttpStatus(verdict: HealthVerdict): 200 | 503 {
  return verdict === 'failing' || verdict === 'starting' ? 503 : 200;
}
