import { Agent, request } from 'undici';
import { SseParser, type SseItem } from '../../src/cli/sse.js';
import { eventually, WAIT_MS } from './processes.js';

/**
 * A GET /events client for tests: keeps the raw text, every frame with the time it arrived, and
 * the status and body of a refusal. Its own agent: streams hold their connections for long.
 */

const agent = new Agent({ connections: 256, pipelining: 0 });

export type Received = SseItem & { receivedAt: number };

export interface SseEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
  receivedAt: number;
}

export class SseClient {
  raw = '';
  readonly items: Received[] = [];
  private readonly parsed: SseEvent[] = [];
  /** True once the stream has ended. */
  done = false;
  /** Resolves when the stream ends (the server ended it, or close()). */
  readonly ended: Promise<void>;
  private constructor(
    readonly status: number,
    readonly headers: Record<string, string | string[] | undefined>,
    /** The body of an answer other than a stream (an error's JSON text). */
    readonly text: string,
    private readonly abort: AbortController,
    body: AsyncIterable<Buffer> | null,
  ) {
    this.ended = body ? this.read(body) : Promise.resolve();
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const abort = new AbortController();
    const res = await request(url, { dispatcher: agent, headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
      return new SseClient(res.statusCode, res.headers, await res.body.text(), abort, null);
    }
    return new SseClient(res.statusCode, res.headers, '', abort, res.body as AsyncIterable<Buffer>);
  }

  private async read(body: AsyncIterable<Buffer>): Promise<void> {
    const parser = new SseParser();
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        const receivedAt = Date.now();
        const text = decoder.decode(chunk, { stream: true });
        this.raw += text;
        for (const item of parser.feed(text)) {
          const received = { ...item, receivedAt };
          this.items.push(received);
          // Parsed once, on arrival: a test that waits on events() asks every few ms, and re-parsing
          // a large stream each time could stall this process long enough to be cut off as a
          // client that does not read.
          if (received.kind === 'event' && received.type !== 'gap' && received.type !== 'generation_served') {
            this.parsed.push({ id: Number(received.lastEventId), type: received.type, data: JSON.parse(received.data) as Record<string, unknown>, receivedAt });
          }
        }
      }
    } catch {
      // aborted by close(), or cut by the server: `ended` resolves either way
    } finally {
      this.done = true;
    }
  }

  /** The puller events received (those with an id), in arrival order. */
  events(): SseEvent[] {
    return [...this.parsed];
  }

  ids(): number[] {
    return this.events().map((e) => e.id);
  }

  /** Every event frame of `type` (gap, generation_served...), its data parsed. */
  ofType(type: string): Array<Record<string, unknown>> {
    return this.items.filter((i) => i.kind === 'event' && i.type === type).map((i) => JSON.parse((i as { data: string }).data) as Record<string, unknown>);
  }

  heartbeats(): number {
    return this.items.filter((i) => i.kind === 'comment' && i.text === 'heartbeat').length;
  }

  /** Waits until the stream has started (its first frame, `retry:` and `id:`, has arrived). */
  started(): Promise<true> {
    return this.until(() => /^retry: \d+\nid: \d+\n\n/.test(this.raw), 'the start frame');
  }

  /** Waits until `n` puller events have arrived. */
  waitForEvents(n: number): Promise<true> {
    return this.until(() => this.events().length >= n, `${n} events (have ${this.events().length})`);
  }

  until(check: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<true> {
    return eventually(() => (check() ? true : undefined), what, timeoutMs);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.ended;
  }
}
