/**
 * Every error code of the system, in one table: the read API's error bodies, the MCP tools'
 * errors, the CLI's `error[code]: message` line and its exit status, status.json's
 * `last_error_code`, the events' and the metrics' `code`. Everything else is derived from it: the
 * typed error classes (src/shared/errors.ts, src/reads/contract/errors.ts) take only a code of this
 * table; the read API's `ErrorCode` enum, each code's status and the framework-error mapping
 * (src/reads/contract/error-codes.ts) come from the codes with a `status`; docs/errors.md is
 * generated from it (scripts/generate/errors-doc.ts).
 *
 * A code is snake_case and never changes once released (scripts match on it). A new error gets a
 * code here first, with:
 * - `status`: the HTTP status it is answered with, for a code the read API can answer with;
 *   `also`: other statuses it may be answered with where HTTP has a more exact one for the same
 *   meaning (a 431 or 417 is still a request the server cannot take as sent); `generic`: the code
 *   a framework error (Fastify's own 4xx) of that status becomes;
 * - `exit`: the exit status of a command that ends with it, when not 1 (EXIT below);
 * - `message`: the message's template, `{name}` for each part the raiser fills in (messageOf);
 * - `meaning`: what it means and what to do, for the generated table.
 */

/** Exit statuses a command ends with (the sysexits.h values where one fits). */
export const EXIT = {
  /** The command failed (the message says why). */
  failure: 1,
  /** A bad flag, environment variable, or the file or value a setting names (EX_USAGE's role, at commander's number). */
  usage: 2,
  /** EX_TEMPFAIL: a temporary condition (a full or failing disk): run it again later, as a service manager does. */
  tempfail: 75,
} as const;
export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

interface ErrorSpec {
  readonly status?: number;
  readonly also?: readonly number[];
  readonly generic?: true;
  readonly exit?: ExitStatus;
  readonly message: string;
  readonly meaning: string;
}

export const ERRORS = {
  // The read API (HTTP bodies and MCP tool errors alike).
  bad_parameter: { status: 400, message: '{parameter}: {problem}', meaning: 'a query parameter or tool argument has a bad value; `parameter` names it' },
  bad_request: {
    status: 400,
    also: [417, 431],
    generic: true,
    message: '{detail}',
    meaning: 'the request cannot be taken as sent (no Host, unparseable, headers too large, an unsupported Expect)',
  },
  forbidden_host: {
    status: 403,
    message: '{header} {value} is not allowed: {allowed}',
    meaning: 'the Host or Origin is not loopback or an --allowed-hosts name (DNS-rebinding guard)',
  },
  unknown_view: { status: 404, message: 'unknown view {view}; known views: {known}', meaning: 'no view of that name in the catalog' },
  not_found: { status: 404, generic: true, message: 'no route {path}{why}', meaning: 'no route at that path' },
  method_not_allowed: {
    status: 405,
    generic: true,
    message: 'method {method} is not allowed: {why} (GET and HEAD; POST at /mcp)',
    meaning: 'the read API is read-only: GET and HEAD (POST at /mcp)',
  },
  not_acceptable: { status: 406, generic: true, message: '{detail}', meaning: 'none of the formats offered (JSON, NDJSON, CSV) is acceptable' },
  request_timeout: { status: 408, generic: true, message: '{detail}', meaning: 'the request did not arrive whole within the request timeout' },
  internal: {
    status: 500,
    message: '{detail}',
    meaning: 'a bug or an unexpected failure; the server log (or the message, on the command line) has the details',
  },
  no_snapshot: { status: 503, message: 'no snapshot yet: nothing has been published at {path}', meaning: 'nothing has been published yet' },
  snapshot_unavailable: {
    status: 503,
    message: 'the published snapshot cannot be opened: {detail}',
    meaning: 'the published snapshot cannot be opened read-only',
  },
  view_not_ready: {
    status: 503,
    message: 'view {view} has not been materialized yet; retry after the next pull',
    meaning: 'the view has not been materialized in the served generation yet',
  },
  ui_not_built: {
    status: 503,
    message: 'the web UI is not built ({dir}: {cause}); run npm run build',
    meaning: "the web UI's files are missing from this installation (npm run build makes them); the API is unaffected",
  },
  too_many_subscribers: {
    status: 503,
    message: '{max} event streams are open, as many as {setting} allows; retry when one closes',
    meaning: 'GET /events already has as many streams open as SESSION_LATTICE_MAX_EVENT_SUBSCRIBERS allows; retry when one closes',
  },
  busy: { status: 503, message: '{detail}', meaning: 'too many queries or connections, or the server is shutting down; retry shortly' },
  timeout: { status: 503, message: 'the query did not finish within {ms} ms and {how}', meaning: 'the query did not finish within its deadline' },

  // The MCP `query` tool (src/reads/query-workers/): tool errors only, never an HTTP body.
  query_refused: {
    message: 'query refused: {reason}',
    meaning: 'the SQL was refused before it ran: not one read-only statement, or it names what the sandbox denies (the message says what is accepted)',
  },
  query_failed: {
    message: '{detail}',
    meaning: "DuckDB rejected or failed the query (syntax, catalog, permission, conversion, out of memory); DuckDB's words",
  },
  query_memory: {
    message:
      'the query used more memory than a query worker may ({rssMb} MB, cap {capMb} MB) and was stopped; narrow it (filter early, aggregate, select fewer or smaller columns, avoid huge generate_series, repeat or lists), or raise the cap with {setting}',
    meaning: "the query's worker process passed its memory cap (SESSION_LATTICE_QUERY_MEMORY_MB) and was stopped",
  },
  query_worker: { message: '{detail}', meaning: "the query's worker process stopped or could not run it (a crash, a failed start, shutdown); retry" },

  // Starting a command (src/cli/, src/shared/config.ts).
  config: {
    exit: EXIT.usage,
    message: '{detail}',
    meaning:
      'a bad flag or environment variable, or a pricing file or time zone a setting names that cannot be used; the message names the setting and what it accepts',
  },
  home: { message: '{setting} {home} {what}: {cause}', meaning: 'the home directory cannot be created or written (the errno says why)' },
  port: { message: '{detail}', meaning: 'the reads server cannot listen on the host and port asked for (in use, or an address this machine does not have)' },
  locked: { message: '{situation}; {advice}', meaning: 'another puller holds the home (its working database); the message names its PID and how to stop it' },

  // A pull (src/puller/): what status.json's last_error_code, the tick_finished event and `pull` say.
  upstream: {
    message: '{detail}',
    meaning: "repo-recall could not be reached, answered with an error status, or sent a body we refuse; the event's error_class says which",
  },
  payload_shape: {
    message: 'upstream payload is not the expected shape: {detail}',
    meaning: 'repo-recall\'s payload is not `{"sessions": [...], ...}`: the tick fails, nothing is published',
  },
  staging: {
    message: 'DuckDB could not stage the downloaded sessions: {cause}',
    meaning: 'DuckDB failed to read a downloaded part of the payload (not retried as a network error)',
  },
  fatal_storage: {
    exit: EXIT.tempfail,
    message: 'fatal storage error: {what}; the puller exits to be restarted: {cause}',
    meaning:
      'the disk is full, read-only or failing, or DuckDB invalidated the working database: the puller exits 75 to be restarted (a new process recovers once the disk is fixed)',
  },
  tick_failed: {
    message: '{detail}',
    meaning: "a step of a pull after the sources (loading, materializing, publishing) failed; DuckDB's or the system's words",
  },
  interrupted: {
    message: 'interrupted by shutdown',
    meaning: 'a stop (SIGINT, SIGTERM) cut the pull short; nothing was published, and a daemon does not count it as a failure',
  },
} as const satisfies Record<string, ErrorSpec>;

/** Every registered code. */
export type ErrorCodeName = keyof typeof ERRORS;

/** The codes the read API answers with (those with an HTTP status): the `ErrorCode` of its bodies. */
export type HttpErrorCode = { [C in ErrorCodeName]: (typeof ERRORS)[C] extends { status: number } ? C : never }[ErrorCodeName];

/** Every code, in the table's order, as a non-empty tuple (what z.enum takes). */
export const ERROR_CODE_LIST = nonEmpty(Object.keys(ERRORS).filter(isErrorCode), 'codes');

export function isErrorCode(value: string): value is ErrorCodeName {
  return Object.hasOwn(ERRORS, value);
}

function isHttpErrorCode(value: string): value is HttpErrorCode {
  return isErrorCode(value) && specOf(value).status !== undefined;
}

/** The HTTP codes as a non-empty tuple (what z.enum takes), in the table's order. */
export const HTTP_ERROR_CODES = nonEmpty(Object.keys(ERRORS).filter(isHttpErrorCode), 'HTTP codes');

function nonEmpty<T>(list: T[], what: string): [T, ...T[]] {
  const [first, ...rest] = list;
  if (first === undefined) throw new Error(`the error registry has no ${what}`);
  return [first, ...rest];
}

/** One entry, seen through the common shape (the table's literal types stay for the type-level helpers). */
export function specOf(code: ErrorCodeName): ErrorSpec {
  return ERRORS[code];
}

/** The exit status of a command that ends with `code`. */
export function exitStatusOf(code: ErrorCodeName): ExitStatus {
  return specOf(code).exit ?? EXIT.failure;
}

/** The names between braces in a template: `'a {x} b {y}'` -> `'x' | 'y'`. */
type Holes<T extends string> = T extends `${string}{${infer Hole}}${infer Rest}` ? Hole | Holes<Rest> : never;

/** What `messageOf(code, ...)` must be given: one value per hole of the code's template. */
export type MessageParts<C extends ErrorCodeName> = { readonly [K in Holes<(typeof ERRORS)[C]['message']>]: string | number };

/** The holes of a template, in order (the run-time twin of Holes). */
export function holesOf(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '');
}

/** The message of `code` with its holes filled in (in one pass: a part that contains braces is kept as it is). */
export function messageOf<C extends ErrorCodeName>(code: C, parts: MessageParts<C>): string {
  const values: Readonly<Record<string, string | number>> = parts;
  return specOf(code).message.replace(/\{(\w+)\}/g, (hole, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : hole));
}

/** The one line the CLI prints for an error it ends with (on stderr). */
export function errorLine(code: ErrorCodeName, message: string): string {
  return `error[${code}]: ${message}`;
}
