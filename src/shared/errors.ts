import { exitStatusOf, messageOf, type ErrorCodeName, type ExitStatus } from './error-registry.js';

/**
 * Errors that reach a person (CLI output, logs, status.json, HTTP bodies, MCP tool errors) carry a
 * message that says what to do, plus a stable code of the registry (src/shared/error-registry.ts)
 * for scripts: a code that is not registered does not compile. Anything else is a bug.
 */
export class LatticeError extends Error {
  constructor(
    readonly code: ErrorCodeName,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The exit status of a command that ends with this error (the registry's). */
  get exitStatus(): ExitStatus {
    return exitStatusOf(this.code);
  }
}

/** A bad environment variable or flag: the message names it and what it accepts. */
export class ConfigError extends LatticeError {
  constructor(message: string) {
    super('config', message);
  }
}

/**
 * Another puller holds the home. `situation` says what it is doing ("another session-lattice
 * puller (PID 12) is already running on ~/.session-lattice"), `advice` how to stop it: the CLI
 * replaces the advice with one that fits who runs the holder (src/cli/lock-advice.ts).
 */
export class PullerLockedError extends LatticeError {
  constructor(
    readonly situation: string,
    readonly holderPid: number | null,
    advice = `stop it first (brew services stop session-lattice-puller, or kill ${holderPid ?? '<pid>'})`,
  ) {
    super('locked', messageOf('locked', { situation, advice }));
  }
}

/** The registered code of any error: its own for a LatticeError, `fallback` for anything else. */
export function errorCodeOf(err: unknown, fallback: ErrorCodeName = 'internal'): ErrorCodeName {
  return err instanceof LatticeError ? err.code : fallback;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
