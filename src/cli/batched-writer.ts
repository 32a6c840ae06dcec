import { write, writeSync } from 'node:fs';

/**
 * The daemons' JSON log destination on stdout: lines are gathered and written in batches of about
 * `batchBytes`, one write at a time and in order, at most `flushMs` late, and what is still pending
 * is written synchronously when the process exits.
 *
 * Why not pino.destination (sonic-boom), which did this before: its write measures the byte length
 * of the whole pending batch again on every line (flattening it), about 2 us a line on this machine,
 * as much as formatting the line, and a tenth of a small cached read's time in the reads server,
 * which logs every request (bench/metrics.ts). Here a line costs an array push (tens of ns); the
 * batch is joined and measured once, when it is written.
 *
 * What is lost, as before: a SIGKILL or an abort loses the pending batch, and a write under way
 * when the process exits is not waited for (nor written twice).
 */
/** Something to sleep on for a millisecond in a synchronous retry. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

export class BatchedWriter {
  private pending: string[] = [];
  /** UTF-16 units pending: a bound on the batch, not its byte size (which only the write needs). */
  private pendingLength = 0;
  private writing = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly fd: number,
    private readonly batchBytes = 64 * 1024,
    flushMs = 100,
  ) {
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
    process.once('exit', () => this.flushSync());
  }

  write(line: string): void {
    this.pending.push(line);
    this.pendingLength += line.length;
    if (this.pendingLength >= this.batchBytes) this.flush();
  }

  /** Starts writing what is pending, unless a write is under way (its callback starts the next). */
  flush(): void {
    if (this.writing || this.pending.length === 0) return;
    this.writing = true;
    this.writeOut(this.take(), 0);
  }

  /** Writes everything pending now (at exit); a write already under way is left to finish on its own. */
  flushSync(): void {
    if (this.pending.length === 0) return;
    const buf = Buffer.from(this.take());
    for (let done = 0, tries = 0; done < buf.length;) {
      try {
        done += writeSync(this.fd, buf, done);
      } catch (err) {
        // A non-blocking pipe that is full: retried for up to a second, then the rest is dropped rather than hang the exit.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || ++tries > 1000) return;
        Atomics.wait(PAUSE, 0, 0, 1);
      }
    }
  }

  private take(): string {
    const text = this.pending.join('');
    this.pending = [];
    this.pendingLength = 0;
    return text;
  }

  /** One batch, as text (encoded by the write itself) or, after a partial write, the bytes left. */
  private writeOut(data: string | Buffer, retries: number): void {
    const done = (err: NodeJS.ErrnoException | null, n: number) => {
      if (err) {
        // A full non-blocking pipe: try again shortly. Any other error (the reader went away) drops
        // this batch: a log must not take the daemon down.
        if (err.code === 'EAGAIN' && retries < 100) {
          setTimeout(() => this.writeOut(data, retries + 1), 10).unref();
          return;
        }
      } else {
        const buf = typeof data === 'string' ? null : data;
        const length = buf ? buf.length : Buffer.byteLength(data);
        if (n < length) {
          this.writeOut((buf ?? Buffer.from(data)).subarray(n), 0);
          return;
        }
      }
      this.writing = false;
      if (this.pendingLength >= this.batchBytes) this.flush();
    };
    if (typeof data === 'string') write(this.fd, data, null, 'utf8', done);
    else write(this.fd, data, 0, data.length, null, done);
  }
}
