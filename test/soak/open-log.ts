/** One line of test/helpers/reader-loop.ts: what one read-only open of the published file found. */
interface OpenLine {
  generation?: number;
  declared?: number;
  sessions?: number;
  error?: string;
  missing?: boolean;
}

/**
 * What a separate reader process saw opening the published file over and over, digested as its
 * output arrives (it writes tens of lines a second for the whole soak, so it is never re-parsed).
 */
export class OpenLog {
  opens = 0;
  readonly errors: string[] = [];
  /** Opens that found no file after a generation had been published. */
  missingAfterPublish = 0;
  backwards = 0;
  /** Opens whose base.sessions did not hold the count the file declares. */
  readonly miscounted: string[] = [];
  /** session_count of every generation opened. */
  readonly declared = new Set<number>();
  private lastGeneration = 0;
  private consumed = 0;

  /** Digests the complete lines of `output` not seen yet. */
  update(output: string): void {
    const end = output.lastIndexOf('\n');
    if (end < this.consumed) return;
    for (const line of output.slice(this.consumed, end).split('\n')) {
      if (line.startsWith('{')) this.add(JSON.parse(line) as OpenLine);
    }
    this.consumed = end + 1;
  }

  private add(o: OpenLine): void {
    this.opens++;
    if (o.error !== undefined) {
      this.errors.push(o.error);
    } else if (o.missing) {
      if (this.lastGeneration > 0) this.missingAfterPublish++;
    } else if (o.generation !== undefined) {
      if (o.generation < this.lastGeneration) this.backwards++;
      this.lastGeneration = o.generation;
      if (o.declared !== undefined) {
        this.declared.add(o.declared);
        if (o.sessions !== o.declared) this.miscounted.push(`generation ${o.generation}: ${o.sessions} sessions, declares ${o.declared}`);
      }
    }
  }
}
