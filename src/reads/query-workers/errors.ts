import { settingName } from '../../shared/config.js';
import { messageOf } from '../../shared/error-registry.js';
import { LatticeError } from '../../shared/errors.js';

/**
 * Errors of the MCP `query` tool. They reach an agent as tool errors, so each message says what
 * was wrong and what to do. The worker raises the first two; the pool raises the others about the
 * worker process itself.
 */

/** The SQL was refused before running (the message says why and what is accepted). */
export class QueryRefusedError extends LatticeError {
  constructor(reason: string) {
    super('query_refused', messageOf('query_refused', { reason }));
  }
}

/** DuckDB rejected or failed the query (a syntax, catalog, permission, conversion or out-of-memory error). */
export class QueryFailedError extends LatticeError {
  constructor(message: string) {
    super('query_failed', message);
  }
}

/** The query's worker passed the memory cap and was stopped. */
export class QueryMemoryError extends LatticeError {
  constructor(capMb: number, rssMb: number) {
    super('query_memory', messageOf('query_memory', { rssMb, capMb, setting: settingName('queryMemoryBytes') }));
  }
}

/** The query's worker process stopped or could not run it (a crash, a failed start, shutdown). */
export class QueryWorkerError extends LatticeError {
  constructor(message: string) {
    super('query_worker', message);
  }
}
