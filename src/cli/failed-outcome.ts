import { errorMessage, LatticeError } from '../shared/errors.js';

/**
 * `pull --json`'s document when the pull could not even start (a bad setting, the home, another
 * puller holding it, an open that failed): the same `outcome: "failed"` a failed tick prints, with
 * the error's stable code as `error_class` where it has one. Kept apart from puller-commands.ts so
 * that src/cli.ts can print it for a bad setting without loading DuckDB.
 */
export interface FailedOutcome {
  outcome: 'failed';
  error: string;
  error_class?: string;
}

export function failedOutcome(err: unknown): FailedOutcome {
  return err instanceof LatticeError ? { outcome: 'failed', error: err.message, error_class: err.code } : { outcome: 'failed', error: errorMessage(err) };
}
