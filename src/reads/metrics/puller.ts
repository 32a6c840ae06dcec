import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { readPullerMetrics, type MetricJson } from '../../shared/puller-metrics.js';

/**
 * The puller's figures for a scrape: `puller/metrics.json` (src/shared/puller-metrics.ts), read
 * again at every scrape (a few KB; the puller replaces it atomically after each tick, so a read
 * sees one whole version). A file that cannot be read or does not validate leaves them out of that
 * scrape and never fails it: the reads server's own figures are still worth serving. Its warning
 * is logged once per distinct error, not once per scrape.
 */
export class PullerFigures {
  private lastError: string | null = null;

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
  ) {}

  /** The metrics in prom-client's JSON form; null when there is no file or it is unusable (`readable` says which). */
  async read(): Promise<{ metrics: MetricJson[] | null; readable: boolean }> {
    try {
      const file = await readPullerMetrics(this.path);
      this.lastError = null;
      return { metrics: file?.metrics ?? null, readable: file !== null };
    } catch (err) {
      this.warnOnce(errorMessage(err));
      return { metrics: null, readable: false };
    }
  }

  /** For a failure past the read (prom-client refusing what validated): logged the same way. */
  warnOnce(message: string): void {
    if (message === this.lastError) return;
    this.lastError = message;
    this.logger.warn({ err: message, path: this.path }, "the puller's metrics file cannot be used; /metrics serves the rest");
  }
}
