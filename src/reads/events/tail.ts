import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { errorMessage } from '../../shared/errors.js';
import { endOfEventLog, openEventLogIfExists, parseEventLines, readEventLog, type EventEnvelope } from '../../shared/events.js';
import type { Logger } from '../../shared/logger.js';
import { WatchCoalesce } from '../../shared/watch-coalesce.js';

/**
 * Follows the puller's event log (format and rules: src/shared/events.ts) for the whole reads
 * process, and hands each new event to `onEvent` exactly once, in id order.
 *
 * What it remembers is a position, never the log: which file it is reading (its identity), the
 * byte offset after the last whole line read, and the last id handed on. A poll reads from that
 * offset to the last newline (the last line may still be being written).
 *
 * - Appends are noticed by fs.watch on the puller directory, with a poll every `pollMs` as well
 *   (shared/watch-coalesce.ts: why both, and why polls never overlap).
 * - Rotation: the puller renames `events.jsonl` to `events.1.jsonl` and starts a new file. When
 *   the current file's identity changes, the rest of the file being read is found under the
 *   rotated name (same identity) and read from the remembered offset first, then the new file from
 *   its start. If it is not there (rotated twice between two polls), what the rotated file holds
 *   after the last id is read instead: nothing that is still in the log is skipped.
 * - A restarted puller appends to the same file with the next id: nothing to do.
 * - Reset: an id at or below the last one where only newer ones can be, while the log no longer
 *   holds the last id, means the log was removed and started over. `onReset` is called and the
 *   position moves to the end of the new log (clients resume from the files, by id: hub.ts).
 */

export interface EventTailOptions {
  paths: { pullerDir: string; events: string; eventsRotated: string };
  logger: Logger;
  onEvent: (event: EventEnvelope) => void;
  onReset: () => void;
  /** The fallback poll (ms); fs.watch usually notices an append sooner. */
  pollMs?: number;
}

interface Position {
  /** dev:ino:birthtime of the file: survives a rename, differs for a new file. */
  file: string;
  /** Bytes of whole lines already read. */
  offset: number;
}

const identity = (st: Stats): string => `${st.dev}:${st.ino}:${st.birthtimeMs}`;

/** The events of the whole lines in [offset, size) of a file; advances `pos.offset` past them. */
async function readForward(handle: FileHandle, pos: Position, size: number): Promise<EventEnvelope[]> {
  if (size <= pos.offset) return [];
  const buf = Buffer.alloc(size - pos.offset);
  const { bytesRead } = await handle.read(buf, 0, buf.length, pos.offset);
  const end = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
  if (end === -1) return [];
  pos.offset += end + 1;
  return parseEventLines(buf.toString('utf8', 0, end + 1));
}

export class EventTail {
  private pos: Position | null = null;
  private lastId = 0;
  private lastError: string | null = null;
  private readonly watch: WatchCoalesce;

  constructor(private readonly opts: EventTailOptions) {
    this.watch = new WatchCoalesce({
      dir: opts.paths.pullerDir,
      names: [basename(opts.paths.events), basename(opts.paths.eventsRotated)],
      pollMs: opts.pollMs ?? 250,
      run: async () => {
        await this.pollOnce();
        this.lastError = null;
      },
      onError: (err) => {
        // One line per distinct failure: a poll every 250 ms must not flood the log.
        const message = errorMessage(err);
        if (message !== this.lastError) this.opts.logger.warn({ err: message }, 'cannot read the event log');
        this.lastError = message;
      },
    });
  }

  /** The id of the last event handed on (or found in the log at start); 0 when none. */
  get lastEventId(): number {
    return this.lastId;
  }

  /** Starts at the end of the log as it is now: only events written from now on are handed on. */
  async start(): Promise<void> {
    // The log is history: one that cannot be read now (permissions, a directory in its place)
    // leaves the server serving, and is tried again at every poll.
    await this.seekEnd().catch((err: unknown) => {
      this.opts.logger.warn({ err: errorMessage(err), path: this.opts.paths.events }, 'cannot read the event log; /events follows it once it can');
    });
    this.watch.start();
  }

  stop(): void {
    void this.watch.stop();
  }

  private async pollOnce(): Promise<void> {
    const current = await openEventLogIfExists(this.opts.paths.events);
    try {
      // No current file: between a rotation's rename and the next append, or no log at all.
      if (!current) return await this.drainRotated();
      const st = await current.stat();
      if (this.pos && this.pos.file !== identity(st)) {
        await this.drainRotated();
        this.pos = null;
      }
      this.pos ??= { file: identity(st), offset: 0 };
      // The writer never truncates: a shorter file under the same identity was replaced.
      if (st.size < this.pos.offset) return await this.reset();
      await this.deliver(await readForward(current, this.pos, st.size), true);
    } finally {
      await current?.close();
    }
  }

  /**
   * The rest of the file being read, now under the rotated name; or, when the rotated file is
   * another one, what it holds after the last id (then it becomes the position, so a current file
   * that stays missing does not make every poll read it again).
   */
  private async drainRotated(): Promise<void> {
    if (!this.pos) return;
    const rotated = await openEventLogIfExists(this.opts.paths.eventsRotated);
    if (!rotated) return;
    try {
      const st = await rotated.stat();
      if (identity(st) === this.pos.file) {
        await this.deliver(await readForward(rotated, this.pos, st.size), true);
        return;
      }
      const pos = { file: identity(st), offset: 0 };
      const events = await readForward(rotated, pos, st.size);
      this.pos = pos;
      await this.deliver(
        events.filter((e) => e.id > this.lastId),
        false,
      );
    } finally {
      await rotated.close();
    }
  }

  /** Hands on events newer than the last; an older one where only newer can be is checked for a reset. */
  private async deliver(events: EventEnvelope[], forward: boolean): Promise<void> {
    for (const event of events) {
      if (event.id > this.lastId) {
        this.lastId = event.id;
        this.opts.onEvent(event);
        continue;
      }
      if (!forward) continue;
      // Still in the log: a stray line (written by something else), skipped. Gone: a new log.
      const log = await readEventLog(this.opts.paths);
      if (log.some((e) => e.id === this.lastId)) continue;
      return this.reset();
    }
  }

  private async reset(): Promise<void> {
    const previous = this.lastId;
    await this.seekEnd();
    this.opts.logger.warn(
      { previous_id: previous, last_id: this.lastId },
      'the event log started over (removed or replaced); event streams end so that clients resume from the new log',
    );
    // The directory may have been replaced too: watch the new one.
    this.watch.rewatch();
    this.opts.onReset();
  }

  /** Positions at the end of the log as it is now (the current file, else the rotated one). */
  private async seekEnd(): Promise<void> {
    const current = await openEventLogIfExists(this.opts.paths.events);
    let lastId: number | null = null;
    try {
      if (current) {
        const st = await current.stat();
        const end = await endOfEventLog(current, st.size);
        this.pos = { file: identity(st), offset: end.offset };
        lastId = end.lastId;
      } else {
        this.pos = null;
      }
    } finally {
      await current?.close();
    }
    if (lastId === null) {
      const rotated = await openEventLogIfExists(this.opts.paths.eventsRotated);
      try {
        if (rotated) lastId = (await endOfEventLog(rotated, (await rotated.stat()).size)).lastId;
      } finally {
        await rotated?.close();
      }
    }
    this.lastId = lastId ?? 0;
  }
}
