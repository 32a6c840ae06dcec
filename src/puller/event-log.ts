import { appendFile, mkdir, open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseEventLine, type EventEnvelope, type NewPullerEvent, type PullerEvent } from '../shared/events.js';

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
  static async open(
    paths: { events: string; eventsRotated: string },
    maxBytes: number,
    onError: (err: unknown) => void,
  ): Promise<EventLog> {
    await mkdir(dirname(paths.events), { recursive: true });
    const current = await lastEvent(paths.events);
    const lastId = current?.id ?? (await lastEvent(paths.eventsRotated))?.id ?? 0;
    let size = await stat(paths.events).then((s) => s.size, () => 0);
    // A puller killed mid-append leaves a torn last line: end it, so the next event is a line of its own.
    if (size > 0 && !(await endsWithNewline(paths.events, size))) {
      await appendFile(paths.events, '\n');
      size += 1;
    }
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
      await rename(this.paths.events, this.paths.eventsRotated);
      this.size = 0;
    }
    await appendFile(this.paths.events, line);
    this.size += bytes;
  }
}

/** The last whole event of a file, read backwards in chunks (the file may be large); null when none. */
async function lastEvent(path: string): Promise<EventEnvelope | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const chunk = 64 * 1024;
    let end = size;
    let tail = '';
    while (end > 0) {
      const start = Math.max(0, end - chunk);
      const buf = Buffer.alloc(end - start);
      await handle.read(buf, 0, buf.length, start);
      tail = buf.toString('utf8') + tail;
      end = start;
      // Whole lines only: those before the last newline. The last one found that parses wins.
      const lines = tail.slice(0, tail.lastIndexOf('\n') + 1).split('\n');
      for (let i = lines.length - 1; i >= (end > 0 ? 1 : 0); i--) {
        const event = parseEventLine(lines[i] ?? '');
        if (event) return event;
      }
    }
    return null;
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
