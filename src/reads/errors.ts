import { LatticeError } from '../shared/errors.js';
import type { ErrorCode } from './api-types.js';

/**
 * Errors of the read surface. Each carries a stable `code`, the HTTP status it maps to, and (for a
 * bad parameter) the parameter's name. They are transport-independent: the HTTP routes turn them
 * into `{"error": {...}}` bodies, the MCP tools into tool errors with the same message.
 */
/** The codes of the read surface's error bodies (declared for consumers in api-types.ts). */
export type ReadsErrorCode = ErrorCode;

export class ReadsError extends LatticeError {
  constructor(
    override readonly code: ReadsErrorCode,
    message: string,
    /** The HTTP status this error maps to. */
    readonly status: number,
    /** The request parameter at fault, when there is one. */
    readonly parameter?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A parameter (query-string key, tool argument) with a bad value: 400, naming it. */
export class BadParameterError extends ReadsError {
  constructor(parameter: string, message: string) {
    super('bad_parameter', `${parameter}: ${message}`, 400, parameter);
  }
}

export class UnknownViewError extends ReadsError {
  constructor(
    readonly view: string,
    known: readonly string[],
  ) {
    super(
      'unknown_view',
      `unknown view ${JSON.stringify(view.length > 100 ? `${view.slice(0, 100)}...` : view)}; known views: ${known.join(', ') || '(none)'}`,
      404,
    );
  }
}

/** The view is in the catalog but has never been materialized in the served generation. */
export class ViewNotReadyError extends ReadsError {
  constructor(view: string) {
    super('view_not_ready', `view ${view} has not been materialized yet; retry after the next pull`, 503);
  }
}

/**
 * No generation has been published yet (distinct from an unknown view). The transports answer with
 * ReadsService.messageOf(), which adds what the puller says about it.
 */
export class NoSnapshotError extends ReadsError {
  constructor(path: string) {
    super('no_snapshot', `no snapshot yet: nothing has been published at ${path}`, 503);
  }
}

/** A file is published but could not be opened read-only (the last error is in the message). */
export class SnapshotUnavailableError extends ReadsError {
  constructor(detail: string) {
    super('snapshot_unavailable', `the published snapshot cannot be opened: ${detail}`, 503);
  }
}

export class BusyError extends ReadsError {
  constructor(message = 'too many queries waiting; retry shortly') {
    super('busy', message, 503);
  }
}

export class QueryTimeoutError extends ReadsError {
  /** `how`: what was done to the query at its deadline, in words. */
  constructor(ms: number, how = 'was interrupted') {
    super('timeout', `the query did not finish within ${ms} ms and ${how}`, 503);
  }
}

