import type { EventEnvelope } from '../../shared/events.js';
import type { EventsGap, GenerationServed } from '../contract/api-types.js';

/**
 * The Server-Sent Events of GET /events, as text, and what a stream replays before it follows the
 * log live. The protocol (docs/design.md, "Read surface"):
 *
 *   retry: 1000            first, with `id: <n>`: the id the stream continues after, so a client
 *   id: <n>                that has seen no event yet still resumes where it connected
 *
 *   id: <id>               one per puller event, its data the event's JSON line
 *   event: <type>
 *   data: {"id":...}
 *
 *   event: gap             before a replay that cannot start right after the client's id
 *   data: {"after": N, "resumed_at": M}
 *
 *   event: generation_served   this server switched to a new generation (no id: not in the log)
 *   data: {"generation": n, "published_at": "..."}
 *
 *   : heartbeat            a comment, every eventsHeartbeatSeconds
 */

/** A frame to write, with the id of the event it carries (null: none, not a log event). */
export interface Frame {
  id: number | null;
  text: string;
}

/** `?tail=N`: at most this many. */
export const MAX_EVENTS_TAIL = 1000;

/** The client's reconnection delay (ms), sent first on every stream. */
export const RETRY_MS = 1000;

export const HEARTBEAT = ': heartbeat\n\n';

/** An event name is one line: a type from the log that is not (a newer puller's) is made one. */
const eventName = (type: string): string => type.replace(/[\r\n]/g, ' ');

/**
 * A puller event. The data is the event as the log's envelope schema reads it, serialized again:
 * exactly the line the writer wrote (same keys, same order), for a replayed event and a live one
 * alike, and never more than one line.
 */
export function eventFrame(event: EventEnvelope): Frame {
  return { id: event.id, text: `id: ${event.id}\nevent: ${eventName(event.type)}\ndata: ${JSON.stringify(event)}\n\n` };
}

export function startFrame(position: number): string {
  return `retry: ${RETRY_MS}\nid: ${position}\n\n`;
}

export function gapFrame(gap: EventsGap): Frame {
  return { id: null, text: `event: gap\ndata: ${JSON.stringify(gap)}\n\n` };
}

export function generationServedFrame(data: GenerationServed): Frame {
  return { id: null, text: `event: generation_served\ndata: ${JSON.stringify(data)}\n\n` };
}

/** Where a stream starts: live only, the last `count` events, or after the client's last id. */
export type StreamStart = { kind: 'live' } | { kind: 'tail'; count: number } | { kind: 'resume'; after: number };

export interface Replay {
  /** The id the stream continues after (the start frame's `id:`). */
  position: number;
  gap: EventsGap | null;
  /** Sent before the live events, oldest first. */
  events: EventEnvelope[];
}

/**
 * What a stream sends before it follows the log, from the log as read after the stream subscribed
 * (so every event is in the replay, in the live feed, or in both: the hub drops the repeats by id).
 *
 * Resuming after N: the events after N. When the oldest the log holds is past N + 1 the ones in
 * between were rotated away: a gap first. When N is past the newest the log holds the log started
 * over (removed and written anew; it never loses its newest event otherwise): a gap and the whole
 * new log, and the position is 0 so that a client that reconnects before any event resumes from
 * the start of the new log.
 */
export function planReplay(log: readonly EventEnvelope[], start: StreamStart): Replay {
  const first = log[0]?.id;
  const last = log.at(-1)?.id ?? 0;
  switch (start.kind) {
    case 'live':
      return { position: last, gap: null, events: [] };
    case 'tail': {
      const events = start.count === 0 ? [] : log.slice(-start.count);
      return { position: events.length > 0 ? events[0]!.id - 1 : last, gap: null, events };
    }
    case 'resume': {
      const { after } = start;
      // An empty log: nothing to replay; whatever comes next is new to this client.
      if (first === undefined) return { position: 0, gap: null, events: [] };
      if (after > last) return { position: 0, gap: { after, resumed_at: first }, events: [...log] };
      const events = log.filter((e) => e.id > after);
      return { position: after, gap: first > after + 1 ? { after, resumed_at: first } : null, events };
    }
  }
}
