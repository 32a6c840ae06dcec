/** Milliseconds a signalled daemon gets to stop cleanly before it exits anyway (the limit is 10 s). */
const STOP_DEADLINE_MS = 9_000;

/**
 * The first SIGINT or SIGTERM. Listen before anything slow starts: a signal that arrives while a
 * daemon is still opening its database or binding its port must stop it cleanly, not kill it by
 * the default action (a service manager restarting us would see an unclean exit).
 */
export class StopSignal {
  /** Set once a signal has arrived. */
  received: NodeJS.Signals | null = null;
  readonly promise: Promise<NodeJS.Signals>;

  constructor() {
    this.promise = new Promise((resolve) => {
      const on = (signal: NodeJS.Signals) => {
        this.received ??= signal;
        resolve(signal);
      };
      process.once('SIGINT', () => on('SIGINT'));
      process.once('SIGTERM', () => on('SIGTERM'));
    });
  }
}

/** Once a stop has begun: exit anyway if it is not done by the deadline. */
export function exitAfterDeadline(onTimeout: () => void): void {
  setTimeout(() => {
    onTimeout();
    process.exit(1);
  }, STOP_DEADLINE_MS).unref();
}
