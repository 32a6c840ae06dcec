import { errorCodeOf, errorMessage, LatticeError } from '../shared/errors.js';
import type { ErrorCodeName } from '../shared/error-registry.js';

/**
 * `pull --json`'s document when the pull failed: it could not even start (a bad setting, the home,
 * another puller holding it, an open that failed), or its tick failed. `error_code` is the error's
 * code in the registry (docs/errors.md); `error_class`, its older name, is kept beside it for a
 * start failure that has one. Kept apart from puller-commands.ts so that src/cli.ts can print it
 * for a bad setting without loading DuckDB.
 */
export interface FailedOutcome {
  outcome: 'failed';
  error: string;
  error_code: ErrorCodeName;
  error_class?: ErrorCodeName;
}

export function failedOutcome(err: unknown): FailedOutcome {
  const failed: FailedOutcome = { outcome: 'failed', error: errorMessage(err), error_code: errorCodeOf(err) };
  return err instanceof LatticeError ? { ...failed, error_class: err.code } : failed;
}

/** The document of a pull whose tick failed (the puller reported the error and its code). */
export function failedTick(error: string, code: ErrorCodeName): FailedOutcome {
  return { outcome: 'failed', error, error_code: code };
}
