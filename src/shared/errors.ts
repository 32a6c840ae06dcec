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

/** Another puller already holds the working database of this home. */
export class PullerLockedError extends LatticeError {
  constructor(
    message: string,
    readonly holderPid: number | null,
  ) {
    super('locked', message);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
