import type { ServerResponse } from 'node:http';
import { readEventLog, type EventEnvelope } from '../../shared/events.js';
import type { Logger } from '../../shared/logger.js';
import type { HomePaths } from '../../shared/paths.js';
import type { GenerationServed } from '../contract/api-types.js';
import { eventFrame, generationServedFrame, type Frame } from './frames.js';
import { EventStream } from './stream.js';
import { EventTail } from './tail.js';

/**
 * The reads process's one follower of the event log and every GET /events stream: one tailer
 * (tail.ts) reads the log once for all of them, each new event is framed once and written to
 * every stream; the generation manager's switches and the heartbeat reach them here too.
 */

export interface EventHubOptions {
  paths: Pick<HomePaths, 'pullerDir' | 'events' | 'eventsRotated'>;
  logger: Logger;
  /** Streams open at once; one more is refused (too_many_subscribers). */
  maxSubscribers: number;
  heartbeatMs: number;
  /** The tailer's fallback poll (ms). */
  pollMs?: number;
}

export class EventHub {
  private readonly streams = new Set<EventStream>();
  private readonly tail: EventTail;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: EventHubOptions) {
    this.tail = new EventTail({
      paths: opts.paths,
      logger: opts.logger,
      pollMs: opts.pollMs,
      onEvent: (event) => this.broadcast(eventFrame(event)),
      // Ids started over: a stream's "after N" means nothing in the new log. Ended, each client
      // resumes by its last id and is told (planReplay: the gap of a log that started over).
      onReset: () => this.endAll(),
    });
  }

  get maxSubscribers(): number {
    return this.opts.maxSubscribers;
  }

  /** Streams open now. */
  get subscribers(): number {
    return this.streams.size;
  }

  get heartbeatMs(): number {
    return this.opts.heartbeatMs;
  }

  async start(): Promise<void> {
    await this.tail.start();
    this.heartbeat = setInterval(() => {
      for (const s of this.streams) s.heartbeat();
    }, this.opts.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * A new stream on `res`, receiving live frames from now on (held until its replay is written);
   * null when `maxSubscribers` are open already.
   */
  open(res: ServerResponse): EventStream | null {
    if (this.closed || this.streams.size >= this.opts.maxSubscribers) return null;
    const stream = new EventStream(res, this.opts.logger, this.tail.lastEventId, () => this.streams.delete(stream));
    this.streams.add(stream);
    return stream;
  }

  /** Forgets a stream that will not run (its request failed before it started). */
  drop(stream: EventStream): void {
    this.streams.delete(stream);
  }

  /** Every event the log holds now, for a replay. */
  readLog(): Promise<EventEnvelope[]> {
    return readEventLog(this.opts.paths);
  }

  /** This process now serves a new generation (GenerationManager.onSwitch). */
  generationServed(data: GenerationServed): void {
    this.broadcast(generationServedFrame(data));
  }

  /** Ends every stream at once (the server is closing: it must not wait for them). */
  endAll(): void {
    for (const s of this.streams) s.end();
  }

  close(): void {
    this.closed = true;
    this.endAll();
    this.tail.stop();
    if (this.heartbeat) clearInterval(this.heartbeat);
  }

  private broadcast(frame: Frame): void {
    for (const s of this.streams) s.push(frame);
  }
}
