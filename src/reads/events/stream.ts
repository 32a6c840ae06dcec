import type { ServerResponse } from 'node:http';
import type { EventEnvelope } from '../../shared/events.js';
import type { Logger } from '../../shared/logger.js';
import { eventFrame, gapFrame, HEARTBEAT, startFrame, type Frame, type Replay } from './frames.js';

/**
 * One client's GET /events stream. It exists from before the log is read for its replay, so that
 * no event written meanwhile is missed: live frames wait in `pending` until the replay is written,
 * then follow it, less the ones the replay already carried (by id). From then on each live frame
 * is written as it comes.
 *
 * A client that does not read is cut off once more than MAX_UNREAD_BYTES wait for it (in Node's
 * buffers: the kernel's are full by then), rather than have the server hold its events.
 */
export const MAX_UNREAD_BYTES = 1024 * 1024;

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

  constructor(
    private readonly res: ServerResponse,
    private readonly logger: Logger,
    /** The tailer's last id when the stream opened: every live frame after it comes to the stream. */
    private readonly since: number,
    onClose: () => void,
  ) {
    res.once('close', () => {
      this.closed = true;
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
        this.logger.info({ id: frame.id, sent_through: this.sentThrough }, 'the event log changed under an event stream (ids started over); ending it so that its client resumes from the new log');
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

  /** Writes the start frame and the replay (at the client's pace), then goes live. `log`: what the replay was planned from. */
  async run(replay: Replay, log: readonly EventEnvelope[]): Promise<void> {
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
    if (this.res.writableLength > 0) this.res.destroy();
    else this.res.end();
  }

  private write(text: string): void {
    this.res.write(text);
    if (this.res.writableLength > MAX_UNREAD_BYTES) this.cut('it does not read');
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
