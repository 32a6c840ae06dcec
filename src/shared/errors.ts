/**
 * Errors that reach a person (CLI output, logs, status.json, HTTP bodies) carry a message that
 * says what to do, plus a stable code for scripts. Anything else is a bug.
 */
export class LatticeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
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
    super('locked', `${situation}; ${advice}`);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
