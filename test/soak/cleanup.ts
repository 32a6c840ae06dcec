/**
 * Everything the soak starts registers how to stop it here, the moment it exists, so every exit
 * path (the end, a failed check, a missed deadline, an exception, SIGINT) stops it: run() undoes
 * the lot in reverse order. Once run() has begun nothing new may start.
 */
export class Cleanup {
  private readonly tasks: Array<() => Promise<unknown>> = [];
  private closing = false;

  /** Call before starting a process, with no await between this and add(). */
  assertOpen(): void {
    if (this.closing) throw new Error('the soak is shutting down; not starting anything new');
  }

  add(task: () => Promise<unknown>): void {
    this.assertOpen();
    this.tasks.push(task);
  }

  /** Runs every task, last added first, whatever the others do; returns their errors. */
  async run(): Promise<string[]> {
    this.closing = true;
    const errors: string[] = [];
    for (let task = this.tasks.pop(); task; task = this.tasks.pop()) {
      await task().catch((err: unknown) => errors.push(err instanceof Error ? err.message : String(err)));
    }
    return errors;
  }
}
