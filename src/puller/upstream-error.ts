import { errors as undiciErrors } from 'undici';
import { settingName } from '../shared/config.js';
import { LatticeError, errorMessage } from '../shared/errors.js';
import type { UPSTREAM_ERROR_CLASSES } from '../shared/events.js';
import { portOf } from './reachability.js';

/**
 * What kind of upstream failure it was: `unreachable` (nothing answers at the address: refused,
 * unknown host, no route, connect timeout), `timeout` (connected, then no answer, the body stalled
 * or came too slowly, or the tick's deadline passed), `status` (an HTTP error status, or a 304 with
 * nothing to compare against), `body` (a payload we refuse: too large, broken), `network` (any
 * other failure of the request). The list is the event log's (src/shared/events.ts), so an event
 * or a metric label can carry the class as it is.
 */
export type UpstreamErrorClass = (typeof UPSTREAM_ERROR_CLASSES)[number];

/** Upstream could not be reached, answered with an error, or sent a broken body. */
export class UpstreamError extends LatticeError {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly errorClass: UpstreamErrorClass,
    options?: { cause?: unknown; brief?: string; retryAfterMs?: number },
  ) {
    super('upstream', message, options);
    this.brief = options?.brief ?? message;
    this.retryAfterMs = options?.retryAfterMs ?? null;
  }

  /** The failure without the advice, for the lines that repeat it (retries). */
  readonly brief: string;
  /** How long upstream asked us to wait before asking again (Retry-After), when it said. */
  readonly retryAfterMs: number | null;
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** Socket errors that mean nothing answers at the address, in the words a person reads. */
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/**
 * The one sentence a person reads when repo-recall is not there (the daemon's log, `pull`,
 * status.json and so `status`, `/healthz` and `/views`): where we looked and the three ways out.
 */
function unreachableMessage(baseUrl: string, why: string): string {
  const port = portOf(new URL(baseUrl));
  return (
    `cannot reach repo-recall at ${baseUrl} (${why}): start repo-recall there, ` +
    `or run the bundled fake from a session-lattice checkout (npm run fake-recall -- --port ${port}), ` +
    `or point ${settingName('repoRecallUrl')} at where it runs`
  );
}

function unreachableError(url: string, why: string, retryable: boolean, cause: unknown): UpstreamError {
  return new UpstreamError(unreachableMessage(url, why), retryable, 'unreachable', { cause, brief: `cannot reach repo-recall at ${url} (${why})` });
}

/** A failure of the request or of its body, in words (our own UpstreamErrors pass through). */
export function describeNetworkError(err: unknown, url: string): LatticeError {
  if (err instanceof LatticeError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError) {
    return new UpstreamError(`repo-recall at ${url} did not answer in time (headers timeout)`, false, 'timeout', { cause: err });
  }
  if (err instanceof undiciErrors.BodyTimeoutError) {
    return new UpstreamError(`repo-recall at ${url} stopped sending the body (body timeout)`, false, 'timeout', { cause: err });
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) {
    return unreachableError(url, 'the connection timed out', true, err);
  }
  const code = (err as { code?: string }).code ?? '';
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? '';
  const retryable = RETRYABLE_CODES.has(code) || RETRYABLE_CODES.has(cause);
  const unreachable = UNREACHABLE[code] ?? UNREACHABLE[cause];
  if (unreachable) return unreachableError(url, unreachable, retryable, err);
  return new UpstreamError(`repo-recall request failed: ${errorMessage(err)}`, retryable, 'network', { cause: err });
}
