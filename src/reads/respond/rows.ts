import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Freshness } from '../contract/api-types.js';
import type { GenerationSource } from '../data/generation-source.js';
import type { Generation } from '../data/generation.js';
import type { ReadPlan, ReadViewParams } from '../data/plan/planner.js';
import type { ReadsService } from '../data/service.js';
import { BufferThenStream, sendCached } from './body.js';
import { bodyOf, type CachedBody, type ResponseCache } from '../data/response-cache.js';
import { etagFor, validate } from './headers.js';
import { now } from '../http/request-trace.js';
import { CONTENT_TYPES, csvRenderer, jsonRenderer, ndjsonRenderer, type Format, type Renderer } from './render.js';

/**
 * The rows responder of GET /views/:name: plan, ETag and 304, the response cache with single
 * flight, then a render that buffers and streams past a threshold. Every call into the service for
 * rows (plan, freshness, pageInfo, rowsEnvelope, streamRows) is in this file, and nowhere else.
 */

export interface RowsResponderOptions {
  service: ReadsService;
  /** Where the rows come from; a switch empties the cache of the previous generation's answers. */
  generations: GenerationSource;
  cache: ResponseCache;
  /** A response larger than this starts streaming instead of being buffered (bytes). */
  streamThresholdBytes: number;
}

export interface RowsRequest {
  view: string;
  params: ReadViewParams;
  format: Format;
  /** `format=` as the caller wrote it (kept in the next page's URL); undefined when negotiated by Accept. */
  formatParam: string | undefined;
  req: FastifyRequest;
  reply: FastifyReply;
}

/** One request's state past the plan: what the render needs. */
interface Planned extends RowsRequest {
  gen: Generation;
  plan: ReadPlan;
  key: string;
  freshness: Freshness;
  /** Gives the generation back; idempotent, called as soon as the rows are read. */
  release: () => void;
}

interface Memo {
  plan: ReadPlan;
  key: string;
  etag: string;
}

export class RowsResponder {
  private readonly planMemo = new Map<string, Memo>();
  private planMemoGeneration = -1;

  constructor(private readonly o: RowsResponderOptions) {
    o.generations.onSwitch((gen) => o.cache.clear(gen.generation));
  }

  async respond(r: RowsRequest): Promise<FastifyReply> {
    const gen = this.o.generations.acquire();
    r.req.trace.generation = gen.generation;
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        gen.release();
      }
    };
    try {
      return await this.answer(gen, r, release);
    } finally {
      release();
    }
  }

  private async answer(gen: Generation, r: RowsRequest, release: () => void): Promise<FastifyReply> {
    const { service, cache } = this.o;
    const trace = r.req.trace;
    const planStart = now();
    const { plan, key, etag } = this.planOf(gen, r);
    trace.plan = now() - planStart;
    const freshness = service.freshness(gen, plan.view);
    if (validate(r.reply, r.req.headers['if-none-match'], etag, freshness)) return r.reply.code(304).send();
    r.reply.type(CONTENT_TYPES[r.format]);

    trace.cache = 'hit';
    const cached = cache.get(gen.generation, key);
    if (cached) return sendCached(r.req, r.reply, cached, freshness.age_seconds);
    // A render another request finished while this one waited counts as a hit too: none was done here.
    const flight = await cache.claim(gen.generation, key);
    if ('entry' in flight) return sendCached(r.req, r.reply, flight.entry, freshness.age_seconds);
    trace.cache = 'miss';
    try {
      const entry = await this.render({ ...r, gen, plan, key, freshness, release });
      flight.done(entry);
    } finally {
      flight.done(null); // no-op when the render already settled it
    }
    return r.reply;
  }

  /** The same URL on the same generation plans to the same queries: memoized (bounded). */
  private planOf(gen: Generation, r: RowsRequest): Memo {
    const memoKey = `${r.format}\n${r.req.url}`;
    if (this.planMemoGeneration !== gen.generation || this.planMemo.size >= 4096) {
      this.planMemo.clear();
      this.planMemoGeneration = gen.generation;
    }
    let memo = this.planMemo.get(memoKey);
    if (!memo) {
      const plan = this.o.service.plan(gen, r.view, r.params);
      // The format as given too: next_url (in the body and Link) repeats `format=` only when it was.
      const key = `${r.format}|${r.formatParam ?? ''}|${plan.key}`;
      memo = { plan, key, etag: etagFor(gen.generation, gen.meta.published_at, key) };
      this.planMemo.set(memoKey, memo);
    }
    return memo;
  }

  /** Renders a miss and sends it; resolves with the cache entry, or null when it was too large to keep. */
  private async render(p: Planned): Promise<CachedBody | null> {
    const { service, cache } = this.o;
    const trace = p.req.trace;
    const infoStart = now();
    const info = await service.pageInfo(p.gen, p.plan);
    let query = now() - infoStart;
    let render = 0;
    const envelope = service.rowsEnvelope(p.gen, p.plan, info, p.formatParam);
    // Known before the first row is written, so a streamed body carries them too.
    const headers: Record<string, string> = {};
    if (envelope.total !== null) headers['x-lattice-total'] = String(envelope.total);
    if (envelope.next_url !== null) headers.link = `<${envelope.next_url}>; rel="next"`;
    p.reply.headers(headers);
    const renderer: Renderer = p.format === 'json' ? jsonRenderer(envelope) : p.format === 'ndjson' ? ndjsonRenderer() : csvRenderer(p.plan.columns);
    const head = Buffer.from(renderer.head);
    const writer = new BufferThenStream({
      reply: p.reply,
      head,
      age: renderer.afterAge === null ? null : String(p.freshness.age_seconds),
      streamThresholdBytes: this.o.streamThresholdBytes,
      keepBytes: cache.maxEntryBytes,
      onStream: () => (trace.streaming = true),
    });
    // Rendering runs inside the row callback: the time spent there (rendering, and any wait for
    // the client to drain) is taken off the time the rows took to read, so `query` is DuckDB's.
    let inSink = 0;
    const sink = (rows: string[]): void | Promise<void> => {
      const t = now();
      const written = writer.write(renderer.rows(rows));
      const spent = now() - t;
      render += spent;
      if (written === undefined) {
        inSink += spent;
        return;
      }
      return written.finally(() => (inSink += now() - t));
    };

    try {
      if (renderer.afterAge !== null) await writer.write(renderer.afterAge);
      const readStart = now();
      await service.streamRows(p.gen, p.plan, sink);
      query += now() - readStart - inSink;
      // Awaited like every row: a client that leaves while the tail waits to drain rejects it,
      // and that is a stream cut short (below), not an unhandled rejection.
      await writer.write(renderer.tail);
    } catch (err) {
      if (!writer.abort(err as Error)) throw err;
      p.req.log.debug({ err, url: p.req.url }, 'streaming stopped');
      return null;
    }
    p.release();
    trace.query = query;
    trace.render = render;
    const pieces = writer.held;
    const contentType = CONTENT_TYPES[p.format];
    const entry: CachedBody =
      renderer.afterAge === null
        ? { generation: p.gen.generation, contentType, headers, before: Buffer.concat([head, ...pieces]), after: null }
        : { generation: p.gen.generation, contentType, headers, before: head, after: Buffer.concat(pieces) };
    if (writer.whole) cache.set(p.key, entry);
    if (!writer.end()) p.reply.send(bodyOf(entry, p.freshness.age_seconds));
    return writer.whole ? entry : null;
  }
}
