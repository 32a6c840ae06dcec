import { ERRORS, HTTP_ERROR_CODES, messageOf, specOf, type HttpErrorCode } from '../../shared/error-registry.js';

/**
 * The read surface's view of the one error registry (src/shared/error-registry.ts): the codes
 * with an HTTP status. The `ErrorCode` type, the `ErrorCodeSchema` of /openapi.json, the status
 * of each ReadsError, the error handler's mapping of framework errors and the answers written
 * straight on a socket (src/reads/http/edges.ts) are all derived from it.
 */

/** The codes an error body of the read API can carry. */
export type ErrorCode = HttpErrorCode;

/** Every error body: `{"error": {"code": ..., "message": ...}}`. */
export interface ErrorResponse {
  error: {
    code: ErrorCode;
    /** Names the problem (and the parameter, for a 400). */
    message: string;
    /** For `bad_parameter`: the query parameter at fault (`limit`, `order_by`, `filter[col]`...). */
    parameter?: string;
  };
}

/** The codes as a non-empty tuple (what z.enum takes), in the registry's order. */
export const ERROR_CODE_NAMES: [ErrorCode, ...ErrorCode[]] = HTTP_ERROR_CODES;

/** The statuses a code may be answered with: its own first, then its `also`. */
export type StatusOf<C extends ErrorCode> = (typeof ERRORS)[C] extends { also: readonly (infer A extends number)[] }
  ? (typeof ERRORS)[C]['status'] | A
  : (typeof ERRORS)[C]['status'];

export function statusOf<C extends ErrorCode>(code: C): StatusOf<C> {
  // The conditional type is not narrowed through the generic index: the table's own literal is what it names.
  return ERRORS[code].status as StatusOf<C>;
}

/** The code of a framework error (a Fastify 4xx, or anything else) of `status`. */
export function codeOfStatus(status: number): ErrorCode {
  if (status >= 500) return 'internal';
  for (const name of ERROR_CODE_NAMES) {
    const entry = specOf(name);
    if (entry.generic && (entry.status === status || entry.also?.includes(status))) return name;
  }
  return 'bad_request';
}

export function errorBody(code: ErrorCode, message: string, parameter?: string): ErrorResponse {
  return { error: parameter === undefined ? { code, message } : { code, message, parameter } };
}

/** An error to answer: status, body and the headers it needs. */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: ErrorResponse;
}

/**
 * The 405 for a method the read API does not take: the one answer, whether Fastify routed the
 * request (the not-found handler) or Node could not (CONNECT, an unknown method: http/edges.ts).
 */
export function methodNotAllowed(method: string, why = 'the read API is read-only'): ErrorAnswer {
  return {
    status: statusOf('method_not_allowed'),
    headers: { allow: 'GET, HEAD' },
    body: errorBody('method_not_allowed', messageOf('method_not_allowed', { method, why })),
  };
}
