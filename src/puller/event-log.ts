import { appendFile, mkdir, open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { endOfEventLog, openEventLogIfExists, type NewPullerEvent, type PullerEvent } from '../shared/events.js';

/**
 * Writes the puller's event log (the format and its rules: src/shared/events.ts). Appends are
 * serialized in the order `append` is called; ids are given at the call, so they are in that
 * order too. A failed write is reported to `onError` and never fails the tick that caused it: the
 * log is history, the status file and the published snapshot are the state.
 */
export class EventLog {
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly paths: { events: string; eventsRotated: string },
    private readonly maxBytes: number,
    private lastId: number,
    private size: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Continues the log: the next id follows the largest one either file holds. */
  static async open(paths: { events: string; eventsRotated: string }, maxBytes: number, onError: (err: unknown) => void): Promise<EventLog> {
    await mkdir(dirname(paths.events), { recursive: true });
    let size = await stat(paths.events).then(
      (s) => s.size,
      () => 0,
    );
    // A puller killed mid-append leaves a torn last line: end it, so the next event is a line of
    // its own. Before the last id is read: a tear just before the newline leaves a whole event,
    // which the newline makes one.
    if (size > 0 && !(await endsWithNewline(paths.events, size))) {
      await appendFile(paths.events, '\n');
      size += 1;
    }
    const lastId = (await idOfLastEvent(paths.events)) ?? (await idOfLastEvent(paths.eventsRotated)) ?? 0;
    return new EventLog(paths, maxBytes, lastId, size, onError);
  }

  /** The id of the last event appended (or found at open); 0 for an empty log. */
  get lastEventId(): number {
    return this.lastId;
  }

  /** Appends one event; resolves once it is written (or its failure reported). */
  append(event: NewPullerEvent): Promise<void> {
    const full = { id: ++this.lastId, at: new Date().toISOString(), pid: process.pid, ...event } as PullerEvent;
    const line = `${JSON.stringify(full)}\n`;
    this.chain = this.chain.then(() => this.write(line)).catch(this.onError);
    return this.chain;
  }

  private async write(line: string): Promise<void> {
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) {
      // A log removed under the puller has nothing to rotate: start a new one all the same.
      await rename(this.paths.events, this.paths.eventsRotated).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      this.size = 0;
    }
    await appendFile(this.paths.events, line);
    this.size += bytes;
  }
}

/** The id of the last whole event of a file; null when it holds none. */
async function idOfLastEvent(path: string): Promise<number | null> {
  const handle = await openEventLogIfExists(path);
  if (handle === null) return null;
  try {
    return (await endOfEventLog(handle, (await handle.stat()).size)).lastId;
  } finally {
    await handle.close();
  }
}

async function endsWithNewline(path: string, size: number): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(1);
    await handle.read(buf, 0, 1, size - 1);
    return buf[0] === 0x0a;
  } finally {
    await handle.close();
  }
}
