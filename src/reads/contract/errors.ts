import { errorMessage, LatticeError } from '../../shared/errors.js';
import { messageOf } from '../../shared/error-registry.js';
import { statusOf, type ErrorCode } from './error-codes.js';

/**
 * Errors of the read surface. Each carries a stable `code` of the registry (src/shared/error-registry.ts), the
 * HTTP status the registry maps it to, and (for a bad parameter) the parameter's name. They are
 * transport-independent: the HTTP routes turn them into `{"error": {...}}` bodies, the MCP tools
 * into tool errors with the same code and message.
 */
export class ReadsError extends LatticeError {
  /** The HTTP status this error maps to (the registry's, so no copy can drift). */
  readonly status: number;

  constructor(
    override readonly code: ErrorCode,
    message: string,
    /** The request parameter at fault, when there is one. */
    readonly parameter?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.status = statusOf(code);
  }
}

/** A parameter (query-string key, tool argument) with a bad value: 400, naming it. */
export class BadParameterError extends ReadsError {
  constructor(parameter: string, message: string) {
    super('bad_parameter', messageOf('bad_parameter', { parameter, problem: message }), parameter);
  }
}

export class UnknownViewError extends ReadsError {
  constructor(
    readonly view: string,
    known: readonly string[],
  ) {
    super(
      'unknown_view',
      messageOf('unknown_view', { view: JSON.stringify(view.length > 100 ? `${view.slice(0, 100)}...` : view), known: known.join(', ') || '(none)' }),
    );
  }
}

/** The view is in the catalog but has never been materialized in the served generation. */
export class ViewNotReadyError extends ReadsError {
  constructor(view: string) {
    super('view_not_ready', messageOf('view_not_ready', { view }));
  }
}

/**
 * No generation has been published yet (distinct from an unknown view). The transports answer with
 * ReadsService.messageOf(), which adds what the puller says about it.
 */
export class NoSnapshotError extends ReadsError {
  constructor(path: string) {
    super('no_snapshot', messageOf('no_snapshot', { path }));
  }
}

/** A file is published but could not be opened read-only (the last error is in the message). */
export class SnapshotUnavailableError extends ReadsError {
  constructor(detail: string) {
    super('snapshot_unavailable', messageOf('snapshot_unavailable', { detail }));
  }
}

export class BusyError extends ReadsError {
  constructor(message = 'too many queries waiting; retry shortly') {
    super('busy', message);
  }
}

export class QueryTimeoutError extends ReadsError {
  /** `how`: what was done to the query at its deadline, in words. */
  constructor(ms: number, how = 'was interrupted') {
    super('timeout', messageOf('timeout', { ms, how }));
  }
}

/** GET /events has as many streams open as allowed. */
export class TooManySubscribersError extends ReadsError {
  constructor(max: number) {
    super('too_many_subscribers', messageOf('too_many_subscribers', { max, setting: 'SESSION_LATTICE_MAX_EVENT_SUBSCRIBERS' }));
  }
}

/** The web UI's files are missing from this installation: its pages answer 503, the API is unaffected. */
export class UiNotBuiltError extends ReadsError {
  constructor(dir: string, cause: unknown) {
    super('ui_not_built', messageOf('ui_not_built', { dir, cause: errorMessage(cause) }), undefined, { cause });
  }
}
