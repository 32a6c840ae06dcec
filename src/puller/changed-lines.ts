import { hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { ElementIndex } from './element-index.js';

const NEWLINE = 0x0a;
const LINE_CLOSE = Buffer.from('}\n');

/** A digest of one element's bytes (sha1: the fastest Node offers here, and no adversary picks the bytes to collide). */
function elementDigest(line: Buffer): string {
  return hash('sha1', line, 'base64');
}

function isBlank(line: Buffer): boolean {
  for (const b of line) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}

/**
 * Between the splitter and the staging file: digests every NDJSON line (one session element) and
 * passes on only the lines the index does not hold, each wrapped as `{"d":"<digest>","e":<element>}`
 * so the loader can store the digest with the row. With `all`, every line passes (a full load).
 *
 * So an unchanged session costs a hash, never a write: a tick where a handful of sessions changed
 * stages a handful of lines instead of the whole payload.
 */
export class ChangedLines extends Transform {
  lines = 0;
  written = 0;
  /** Digests of the lines passed on, in order. */
  readonly passed: string[] = [];
  private pending: Buffer[] = [];

  constructor(
    private readonly index: ElementIndex,
    private readonly all: boolean,
  ) {
    super();
    index.beginPass();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const out: Buffer[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      let line = chunk.subarray(start, nl);
      if (this.pending.length > 0) {
        line = Buffer.concat([...this.pending, line]);
        this.pending = [];
      }
      start = nl + 1;
      if (line.length > 0) this.line(line, out);
    }
    if (start < chunk.length) this.pending.push(Buffer.from(chunk.subarray(start)));
    done(null, out.length > 0 ? Buffer.concat(out) : undefined);
  }

  override _flush(done: TransformCallback): void {
    const out: Buffer[] = [];
    const rest = Buffer.concat(this.pending);
    this.pending = [];
    if (rest.length > 0) this.line(rest, out);
    done(null, out.length > 0 ? Buffer.concat(out) : undefined);
  }

  private line(line: Buffer, out: Buffer[]): void {
    // `[ ]`: the whitespace of an empty array is no element.
    if (isBlank(line)) return;
    this.lines++;
    const digest = elementDigest(line);
    if (!this.all && this.index.sawKnown(digest)) return;
    this.written++;
    this.passed.push(digest);
    out.push(Buffer.from(`{"d":"${digest}","e":`), line, LINE_CLOSE);
  }
}
