/** Milliseconds a signalled daemon gets to stop cleanly before it exits anyway (the limit is 10 s). */
export const STOP_DEADLINE_MS = 9_000;

/** Resolves with the first SIGINT or SIGTERM. */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

/** Once a stop has begun: exit anyway if it is not done by the deadline. */
export function exitAfterDeadline(onTimeout: () => void): void {
  setTimeout(() => {
    onTimeout();
    process.exit(1);
  }, STOP_DEADLINE_MS).unref();
}
