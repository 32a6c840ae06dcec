/**
 * Every code an error body of the read surface can carry, with the HTTP status it maps to and
 * what it means: the one registry. The `ErrorCode` type, the `ErrorCodeSchema` of /openapi.json,
 * the status of each ReadsError, the error handler's mapping of framework errors and the answers
 * written straight on a socket (http-edges.ts) are all derived from it.
 *
 * `also`: other statuses the code is answered with where HTTP has a more exact one for the same
 * meaning (a 431 or 417 is still a request the server cannot take as sent). `generic`: the code a
 * framework error (Fastify's own 4xx) of that status becomes.
 */
export const ERROR_CODES = {
  bad_parameter: { status: 400, meaning: 'a query parameter or tool argument has a bad value; `parameter` names it' },
  bad_request: { status: 400, also: [417, 431], generic: true, meaning: 'the request cannot be taken as sent (no Host, unparseable, headers too large, an unsupported Expect)' },
  forbidden_host: { status: 403, meaning: 'the Host or Origin is not loopback or an --allowed-hosts name (DNS-rebinding guard)' },
  unknown_view: { status: 404, meaning: 'no view of that name in the catalog' },
  not_found: { status: 404, generic: true, meaning: 'no route at that path' },
  method_not_allowed: { status: 405, generic: true, meaning: 'the read API is read-only: GET and HEAD (POST at /mcp)' },
  not_acceptable: { status: 406, generic: true, meaning: 'none of the formats offered (JSON, NDJSON, CSV) is acceptable' },
  request_timeout: { status: 408, generic: true, meaning: 'the request did not arrive whole within the request timeout' },
  internal: { status: 500, meaning: 'a bug or an unexpected failure; the server log has the details' },
  no_snapshot: { status: 503, meaning: 'nothing has been published yet' },
  snapshot_unavailable: { status: 503, meaning: 'the published snapshot cannot be opened read-only' },
  view_not_ready: { status: 503, meaning: 'the view has not been materialized in the served generation yet' },
  ui_not_built: { status: 503, meaning: "the web UI's files are missing from this installation (npm run build makes them); the API is unaffected" },
  too_many_subscribers: { status: 503, meaning: 'GET /events already has as many streams open as SESSION_LATTICE_MAX_EVENT_SUBSCRIBERS allows; retry when one closes' },
  busy: { status: 503, meaning: 'too many queries or connections, or the server is shutting down; retry shortly' },
  timeout: { status: 503, meaning: 'the query did not finish within its deadline' },
} as const satisfies Record<string, { status: number; meaning: string; also?: readonly number[]; generic?: true }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes as a non-empty tuple (what z.enum takes). */
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** The statuses a code may be answered with: its own first, then its `also`. */
export type StatusOf<C extends ErrorCode> = (typeof ERROR_CODES)[C] extends { also: readonly (infer A extends number)[] }
  ? (typeof ERROR_CODES)[C]['status'] | A
  : (typeof ERROR_CODES)[C]['status'];

export function statusOf<C extends ErrorCode>(code: C): StatusOf<C> {
  return ERROR_CODES[code].status as StatusOf<C>;
}

/** The code of a framework error (a Fastify 4xx, or anything else) of `status`. */
export function codeOfStatus(status: number): ErrorCode {
  if (status >= 500) return 'internal';
  for (const name of ERROR_CODE_NAMES) {
    const entry: { status: number; generic?: true; also?: readonly number[] } = ERROR_CODES[name];
    if (entry.generic && (entry.status === status || entry.also?.includes(status))) return name;
  }
  return 'bad_request';
}

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
 * request (the not-found handler) or Node could not (CONNECT, an unknown method: http-edges.ts).
 */
export function methodNotAllowed(method: string, why = 'the read API is read-only'): ErrorAnswer {
  return {
    status: statusOf('method_not_allowed'),
    headers: { allow: 'GET, HEAD' },
    body: errorBody('method_not_allowed', `method ${method} is not allowed: ${why} (GET and HEAD; POST at /mcp)`),
  };
}
