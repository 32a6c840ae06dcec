import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { serverTiming } from '../http/request-trace.js';
import { bodyOf, type CachedBody } from '../data/response-cache.js';

/** How a rows body leaves: buffered then streamed as it grows, or a cached one spliced with its age. */

export interface BodyWriterOptions {
  reply: FastifyReply;
  /** The opening bytes (for JSON, the bytes before the age value). */
  head: Buffer;
  /** The age, written after `head` once the body streams; null for a body without one. */
  age: string | null;
  /** A body that outgrows this starts streaming instead of being buffered (bytes). */
  streamThresholdBytes: number;
  /** Pieces are kept (for the cache) as long as the body fits this. */
  keepBytes: number;
  /** Called when the body starts streaming, just before its headers leave. */
  onStream?: () => void;
}

/**
 * Buffers the rendered pieces until the body outgrows the threshold, then streams, honouring
 * backpressure; keeps the pieces for the cache as long as they fit an entry.
 */
export class BufferThenStream {
  private readonly pieces: Buffer[] = [];
  private bytes = 0;
  private keep = true;
  private stream: PassThrough | null = null;

  constructor(private readonly o: BodyWriterOptions) {}

  /** The pieces after the head: all of them, unless the body streamed past `keepBytes`. */
  get held(): readonly Buffer[] {
    return this.pieces;
  }

  /** Every piece was kept: the body can be cached. */
  get whole(): boolean {
    return this.keep;
  }

  /** Writes a rendered piece; the promise (when one is returned) resolves when the client drained. */
  write(text: string): void | Promise<void> {
    if (text === '') return;
    const buf = Buffer.from(text);
    this.bytes += buf.length;
    if (this.keep && this.bytes > this.o.keepBytes) {
      this.keep = false;
      if (this.stream !== null) this.pieces.length = 0;
    }
    if (this.keep || this.stream === null) this.pieces.push(buf);
    if (this.stream === null) {
      if (this.bytes <= this.o.streamThresholdBytes) return;
      this.startStreaming();
      return;
    }
    if (this.stream.destroyed) throw new Error('the client went away');
    if (!this.stream.write(buf)) return drained(this.stream);
  }

  private startStreaming(): void {
    const stream = new PassThrough();
    this.stream = stream;
    this.o.onStream?.();
    this.o.reply.send(stream);
    stream.write(this.o.age === null ? this.o.head : Buffer.concat([this.o.head, Buffer.from(this.o.age)]));
    for (const p of this.pieces) stream.write(p);
    if (!this.keep) this.pieces.length = 0;
  }

  /** After a failure: cuts a body that is streaming and says so; false when nothing was sent yet. */
  abort(err: Error): boolean {
    if (this.stream === null) return false;
    this.stream.destroy(err);
    return true;
  }

  /** Ends a streaming body; false when nothing streamed (the caller sends the body whole). */
  end(): boolean {
    if (this.stream === null) return false;
    this.stream.end();
    return true;
  }
}

const SMALL_BODY_BYTES = 64 * 1024;

/**
 * A cached body, written as its pieces (bytes before the age, the age, bytes after) without
 * copying a large body into one buffer per response.
 */
export function sendCached(req: FastifyRequest, reply: FastifyReply, entry: CachedBody, ageSeconds: number): FastifyReply {
  reply.headers(entry.headers);
  if (entry.after === null) return reply.send(entry.before);
  const ageBuf = Buffer.from(String(ageSeconds));
  const length = entry.before.length + ageBuf.length + entry.after.length;
  // A small body is cheaper copied once and sent the usual way than written in pieces.
  if (length <= SMALL_BODY_BYTES) return reply.send(bodyOf(entry, ageSeconds));
  reply.hijack();
  const raw = reply.raw;
  // A hijacked reply skips the onSend hooks: its Server-Timing is set here.
  const headers = { ...reply.getHeaders(), 'server-timing': serverTiming(req.trace), 'content-length': String(length), 'content-type': entry.contentType };
  raw.writeHead(200, headers as Record<string, string>);
  if (req.method === 'HEAD') {
    raw.end();
    return reply;
  }
  raw.cork();
  raw.write(entry.before);
  raw.write(ageBuf);
  raw.end(entry.after);
  return reply;
}

/** Waits for a stream to drain, or rejects if it closes first (the client went away). */
export function drained(stream: PassThrough): Promise<void> {
  // Destroyed already (the client left while a chunk was being fetched): 'close' has fired and
  // will not fire again, so waiting would hold the query slot until the query timeout.
  if (stream.destroyed) return Promise.reject(new Error('the client went away'));
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the client went away'));
    };
    const cleanup = () => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
    };
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}
