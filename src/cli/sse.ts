/**
 * A Server-Sent Events parser (the WHATWG "event stream interpretation"), fed text as it arrives.
 * `session-lattice watch` reads GET /events with it over undici's `request` rather than through
 * undici's EventSource, which gives up for good on any answer but a 200 (a server restarting
 * answers 503 for a moment), hides the status and body of an error, and has no deadline for
 * getting a connection back.
 */

export type SseItem =
  /** A dispatched event: `type` is `message` when the stream named none. */
  | { kind: 'event'; type: string; data: string; lastEventId: string }
  /** A comment line (`: heartbeat`), without its colon. */
  | { kind: 'comment'; text: string };

export class SseParser {
  /** The id a reconnection sends as Last-Event-ID ('' until the stream gives one). */
  lastEventId = '';
  /** The reconnection delay the stream asked for (`retry:`), in ms; null until it does. */
  retryMs: number | null = null;
  private pending = '';
  private started = false;
  private idBuffer: string;
  private type = '';
  private data: string[] = [];

  /** `lastEventId`: the id a previous connection of the same stream ended with (it carries over). */
  constructor(lastEventId = '') {
    this.lastEventId = lastEventId;
    this.idBuffer = lastEventId;
  }

  /** Takes the next piece of the stream; returns what it completed. */
  feed(text: string): SseItem[] {
    let buf = this.pending + text;
    if (!this.started && buf.length > 0) {
      this.started = true;
      if (buf.charCodeAt(0) === 0xfeff) buf = buf.slice(1);
    }
    const out: SseItem[] = [];
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      // A CR at the very end may be the first half of a CRLF: wait for the next piece.
      if (c === 0x0d && i === buf.length - 1) break;
      this.line(buf.slice(start, i), out);
      if (c === 0x0d && buf.charCodeAt(i + 1) === 0x0a) i++;
      start = i + 1;
    }
    this.pending = buf.slice(start);
    return out;
  }

  private line(line: string, out: SseItem[]): void {
    if (line === '') return this.dispatch(out);
    if (line.startsWith(':')) {
      out.push({ kind: 'comment', text: line.slice(1).trimStart() });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.type = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.idBuffer = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
      // Unknown fields are ignored (the spec's rule).
    }
  }

  /** A blank line: the id is taken even by a frame without data (the start frame's `id:`). */
  private dispatch(out: SseItem[]): void {
    this.lastEventId = this.idBuffer;
    if (this.data.length > 0) out.push({ kind: 'event', type: this.type || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId });
    this.type = '';
    this.data = [];
  }
}
