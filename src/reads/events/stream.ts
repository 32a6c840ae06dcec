import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { EventEnvelope } from '../../shared/events.js';
import type { Logger } from '../../shared/logger.js';
import { eventFrame, gapFrame, HEARTBEAT, startFrame, type Frame, type Replay } from './frames.js';

/** How long a stream may stay over MAX_UNREAD_BYTES: a burst of events (one poll of the log may read many) is not a client that stopped reading. */
const UNREAD_GRACE_MS = 2000;

/**
 * One client's GET /events stream. It exists from before the log is read for its replay, so that
 * no event written meanwhile is missed: live frames wait in `pending` until the replay is written,
 * then follow it, less the ones the replay already carried (by id). From then on each live frame
 * is written as it comes.
 *
 * A client that does not read is cut off once more than MAX_UNREAD_BYTES have waited for it (in
 * Node's buffers: the kernel's are full by then) for UNREAD_GRACE_MS, rather than have the server
 * hold its events: a client that reads catches up with a burst well within that.
 */
const MAX_UNREAD_BYTES = 1024 * 1024;

/** The replay is written in pieces of about this size, each once the previous one left. */
const REPLAY_CHUNK_BYTES = 64 * 1024;

export class EventStream {
  private pending: Frame[] | null = [];
  private pendingBytes = 0;
  /** The highest event id written (or the start position): a live frame at or below it is a repeat. */
  private sentThrough = Number.POSITIVE_INFINITY;
  /**
   * The frames of the events the log held when read for the replay that the tailer had not handed
   * on yet: the live frames that may repeat them. A live frame at or below `sentThrough` that is
   * not one of them means the log was replaced under the stream (ids started over before the
   * tailer saw the old ones): the stream ends, and its client resumes from the new log.
   */
  private repeats: Map<number, string> | null = null;
  private closed = false;
  private started = false;
  /** Set while more than MAX_UNREAD_BYTES wait: the check that cuts the client if they still do. */
  private overdue: NodeJS.Timeout | null = null;

  constructor(
    private readonly res: ServerResponse,
    private readonly logger: Logger,
    /** The tailer's last id when the stream opened: every live frame after it comes to the stream. */
    private readonly since: number,
    onClose: () => void,
  ) {
    // A write racing the end of the response (a heartbeat, a live frame) must not become an
    // uncaught error: the stream is over either way.
    res.on('error', () => undefined);
    res.once('close', () => {
      this.closed = true;
      if (this.overdue) clearTimeout(this.overdue);
      onClose();
    });
  }

  /** A live frame from the hub. */
  push(frame: Frame): void {
    if (this.closed) return;
    if (this.pending) {
      this.pending.push(frame);
      this.pendingBytes += frame.text.length;
      if (this.pendingBytes > MAX_UNREAD_BYTES) this.cut('its replay is too slow for the events arriving meanwhile');
      return;
    }
    if (frame.id !== null) {
      if (frame.id <= this.sentThrough) {
        if (this.repeats?.get(frame.id) === frame.text) return;
        this.logger.info(
          { id: frame.id, sent_through: this.sentThrough },
          'the event log changed under an event stream (ids started over); ending it so that its client resumes from the new log',
        );
        this.end();
        return;
      }
      // The tailer is past everything the replay read: nothing more can repeat.
      this.repeats = null;
      this.sentThrough = frame.id;
    }
    this.write(frame.text);
  }

  heartbeat(): void {
    // A replay in progress is traffic enough (and its pieces must stay whole).
    if (!this.closed && !this.pending) this.write(HEARTBEAT);
  }

  /** False once the stream was ended or its client left, including before it started. */
  get open(): boolean {
    return !this.closed;
  }

  /**
   * Writes the response head, the start frame and the replay (at the client's pace), then goes
   * live. `log`: what the replay was planned from.
   */
  async run(headers: OutgoingHttpHeaders, replay: Replay, log: readonly EventEnvelope[]): Promise<void> {
    if (this.closed) return;
    this.started = true;
    this.res.writeHead(200, headers);
    this.repeats = new Map();
    for (const event of log) if (event.id > this.since) this.repeats.set(event.id, eventFrame(event).text);
    let chunk = startFrame(replay.position);
    let through = replay.position;
    const frames = replay.gap ? [gapFrame(replay.gap)] : [];
    for (const event of replay.events) frames.push(eventFrame(event));
    for (const frame of frames) {
      chunk += frame.text;
      if (frame.id !== null) through = Math.max(through, frame.id);
      if (chunk.length >= REPLAY_CHUNK_BYTES) {
        if (!(await this.writeAtPace(chunk))) return;
        chunk = '';
      }
    }
    if (!(await this.writeAtPace(chunk))) return;
    this.sentThrough = through;
    const pending = this.pending ?? [];
    this.pending = null;
    this.pendingBytes = 0;
    for (const frame of pending) this.push(frame);
  }

  /** Ends the stream now (server closing, log reset); a client that does not read is not waited for. */
  end(): void {
    if (this.closed) return;
    if (!this.started) {
      // Nothing sent yet: the route answers instead (see open).
      this.closed = true;
      return;
    }
    // Closed at once: nothing more is written, even before the response's 'close' comes.
    this.closed = true;
    if (this.res.writableLength > 0) this.res.destroy();
    else this.res.end();
  }

  private write(text: string): void {
    this.res.write(text);
    if (this.res.writableLength <= MAX_UNREAD_BYTES || this.overdue) return;
    this.overdue = setTimeout(() => {
      this.overdue = null;
      if (!this.closed && this.res.writableLength > MAX_UNREAD_BYTES) this.cut('it does not read');
    }, UNREAD_GRACE_MS);
    this.overdue.unref();
  }

  /** Resolves once `text` has been handed to the socket (false when the stream closed first). */
  private writeAtPace(text: string): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.res.write(text)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve(!this.closed);
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  private cut(why: string): void {
    this.logger.warn({ unread_bytes: this.res.writableLength + this.pendingBytes }, `cut off an event stream: ${why}`);
    this.closed = true;
    this.res.destroy();
  }
}
