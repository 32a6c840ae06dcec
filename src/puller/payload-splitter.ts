import { messageOf } from '../shared/error-registry.js';
import { LatticeError } from '../shared/errors.js';

/** The upstream payload is not `{"sessions": [...], ...}`: the tick fails, nothing is published. */
export class PayloadShapeError extends LatticeError {
  constructor(message: string) {
    super('payload_shape', messageOf('payload_shape', { detail: message }));
  }
}

/** Top-level fields other than `sessions` (small values such as scan_version, generated_at). */
export type PayloadHeader = Record<string, unknown>;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LOWER_U = 0x75;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const SPACE = 0x20;

const LINE_END = Buffer.from('\n');
/** `\ufffd` without its backslash: written over the `uXXXX` of an unpaired surrogate escape. */
const REPLACEMENT_HEX = Buffer.from('ufffd');
/** Longest escape that must be seen in one piece: a surrogate pair, `\uD83D\uDE00`. */
const ESCAPE_LOOKAHEAD = 12;
const MAX_HEADER_BYTES = 64 * 1024;

function isWhitespace(b: number): boolean {
  return b === SPACE || b === NEWLINE || b === RETURN || b === 0x09;
}

/** The 4 hex digits at `at` as a number, or -1. */
function hex4(buf: Buffer, at: number): number {
  let v = 0;
  for (let k = at; k < at + 4; k++) {
    const c = buf[k] ?? -1;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

type Phase = 'before-object' | 'expect-key' | 'in-key' | 'expect-colon' | 'expect-value' | 'in-value' | 'in-sessions' | 'after-value' | 'done';

/**
 * Streams an upstream payload `{"sessions": [e1, e2, ...], "scan_version": N, ...}` into
 * newline-delimited JSON, one session element per line, without ever holding the payload:
 * DuckDB then reads the lines in parallel, and a bad row costs that row, not the whole load.
 *
 * Every rewrite is the same length, so it happens in place and the output is slices of the input:
 * a comma between elements becomes a newline, a line break between tokens becomes a space, and an
 * unpaired UTF-16 surrogate escape (`\ud83d`, a truncated emoji; JSON.parse accepts it, DuckDB's
 * reader rejects the whole document) becomes `\ufffd`.
 *
 * It checks the structure (brackets, strings, top-level keys), not the tokens inside an element:
 * a garbled element becomes a line that the loader rejects and counts.
 */
export class PayloadSplitter {
  readonly header: PayloadHeader = {};
  elements = 0;
  repairedSurrogates = 0;
  bytesIn = 0;

  private phase: Phase = 'before-object';
  private inString = false;
  /** Bracket depth inside the sessions array (0: between elements) or inside a header value. */
  private depth = 0;
  /** Whether the current position in the sessions array is inside an element. */
  private inElement = false;
  private afterComma = false;
  private sawSessions = false;
  private currentKey = '';
  /** Bytes of the key or header value being read (small, so copied). */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private partStart = -1;
  /** Start of the sessions bytes to emit from the current buffer, or -1. */
  private emitStart = -1;
  private out: Buffer[] = [];
  private carry: Buffer | null = null;

  /** Feeds the next chunk (which it may rewrite in place); returns the NDJSON completed so far. */
  push(chunk: Buffer): Buffer {
    this.bytesIn += chunk.length;
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    this.scan(buf, false);
    return this.takeOutput();
  }

  /** Ends the input: throws PayloadShapeError unless one whole payload was seen. */
  end(): Buffer {
    if (this.carry) {
      const rest = this.carry;
      this.carry = null;
      this.scan(rest, true);
    }
    if (this.phase !== 'done') {
      throw new PayloadShapeError(this.bytesIn === 0 ? 'the body is empty' : `the JSON ends early (truncated after ${this.bytesIn} bytes)`);
    }
    if (!this.sawSessions) throw new PayloadShapeError('it has no "sessions" array');
    return this.takeOutput();
  }

  private takeOutput(): Buffer {
    const out = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
    this.out = [];
    return out;
  }

  private scan(buf: Buffer, final: boolean): void {
    const n = buf.length;
    if (this.phase === 'in-sessions') this.emitStart = 0;
    if (this.phase === 'in-key' || this.phase === 'in-value') this.partStart = 0;
    // Next backslash at or after i (-1: none left in this buffer); cached because searching from
    // every string start would rescan the buffer over and over.
    let slash = buf.indexOf(BACKSLASH);
    let i = 0;
    while (i < n) {
      if (this.inString) {
        const quote = buf.indexOf(QUOTE, i);
        if (slash !== -1 && slash < i) slash = buf.indexOf(BACKSLASH, i);
        if (slash !== -1 && (quote === -1 || slash < quote)) {
          if (slash + ESCAPE_LOOKAHEAD > n && !final) {
            // The escape may straddle two chunks: keep its bytes for the next one.
            this.endOfBuffer(buf, slash);
            this.carry = Buffer.from(buf.subarray(slash));
            return;
          }
          i = this.escape(buf, slash);
          continue;
        }
        if (quote === -1) break;
        this.inString = false;
        i = quote + 1;
        if (this.phase === 'in-key') this.endKey(buf, quote);
        continue;
      }
      const b = buf[i]!;
      if (this.phase === 'in-sessions') this.sessionsByte(buf, i, b);
      else this.step(buf, i, b);
      i++;
    }
    this.endOfBuffer(buf, n);
  }

  /** Hands over what this buffer holds of the sessions (or of a key or value) up to `end`. */
  private endOfBuffer(buf: Buffer, end: number): void {
    if (this.emitStart !== -1 && end > this.emitStart) this.out.push(buf.subarray(this.emitStart, end));
    this.emitStart = -1;
    if (this.partStart !== -1) this.collect(buf, end);
    this.partStart = -1;
  }

  /** One byte inside the sessions array, outside any string: the hot path. */
  private sessionsByte(buf: Buffer, i: number, b: number): void {
    if (b === QUOTE) {
      this.inString = true;
      this.startElement();
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      this.startElement();
      this.depth++;
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      if (this.depth > 0) {
        this.depth--;
        return;
      }
      if (b === CLOSE_BRACE) this.fail('unbalanced "}" in "sessions"');
      if (this.afterComma && !this.inElement) this.fail('"sessions" ends with a trailing comma');
      // The end of the array.
      if (this.inElement) this.elements++;
      if (this.emitStart !== -1 && i > this.emitStart) this.out.push(buf.subarray(this.emitStart, i));
      if (this.elements > 0) this.out.push(LINE_END);
      this.emitStart = -1;
      this.phase = 'after-value';
    } else if (b === COMMA) {
      if (this.depth > 0) return;
      if (!this.inElement) this.fail('an empty element in "sessions"');
      buf[i] = NEWLINE;
      this.elements++;
      this.inElement = false;
      this.afterComma = true;
    } else if (b === NEWLINE || b === RETURN) {
      // Whitespace between tokens may hold a line break; an NDJSON line must not.
      buf[i] = SPACE;
    } else if (!isWhitespace(b)) {
      this.startElement();
    }
  }

  private startElement(): void {
    if (this.depth === 0) this.inElement = true;
  }

  /** One byte of the top-level object, outside any string. */
  private step(buf: Buffer, i: number, b: number): void {
    switch (this.phase) {
      case 'in-value':
        return this.valueByte(buf, i, b);
      case 'before-object':
        if (isWhitespace(b)) return;
        if (b !== OPEN_BRACE) {
          this.fail(b === OPEN_BRACKET ? 'it is a JSON array, not an object with "sessions"' : 'it is not a JSON object');
        }
        this.phase = 'expect-key';
        return;
      case 'expect-key':
        if (isWhitespace(b)) return;
        if (b === CLOSE_BRACE && !this.afterComma) {
          this.phase = 'done';
          return;
        }
        if (b !== QUOTE) this.fail('expected a key in the top-level object');
        this.phase = 'in-key';
        this.inString = true;
        this.parts = [];
        this.partStart = i + 1;
        return;
      case 'expect-colon':
        if (isWhitespace(b)) return;
        if (b !== COLON) this.fail('expected ":" after a top-level key');
        this.phase = 'expect-value';
        return;
      case 'expect-value':
        if (isWhitespace(b)) return;
        if (this.currentKey === 'sessions') {
          if (b !== OPEN_BRACKET) this.fail('"sessions" is not an array');
          if (this.sawSessions) this.fail('"sessions" appears twice');
          this.sawSessions = true;
          this.phase = 'in-sessions';
          this.depth = 0;
          this.inElement = false;
          this.afterComma = false;
          this.emitStart = i + 1;
          return;
        }
        this.phase = 'in-value';
        this.parts = [];
        this.partStart = i;
        this.depth = 0;
        return this.valueByte(buf, i, b);
      case 'after-value':
        if (isWhitespace(b)) return;
        if (b === COMMA) {
          this.phase = 'expect-key';
          this.afterComma = true;
        } else if (b === CLOSE_BRACE) this.phase = 'done';
        else this.fail('expected "," or "}" in the top-level object');
        return;
      case 'done':
        if (!isWhitespace(b)) this.fail('there is more data after the top-level object');
        return;
      case 'in-key':
      case 'in-sessions':
        return; // handled in scan()
    }
  }

  private valueByte(buf: Buffer, i: number, b: number): void {
    if (b === QUOTE) this.inString = true;
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth++;
    else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      if (this.depth > 0) {
        this.depth--;
        return;
      }
      if (b === CLOSE_BRACKET) this.fail('unbalanced "]" in the top-level object');
      this.endValue(buf, i);
      this.phase = 'done';
    } else if (b === COMMA && this.depth === 0) {
      this.endValue(buf, i);
      this.phase = 'expect-key';
      this.afterComma = true;
    }
  }

  private collect(buf: Buffer, end: number): void {
    if (end <= this.partStart) return;
    this.partsBytes += end - this.partStart;
    if (this.partsBytes > MAX_HEADER_BYTES) {
      this.fail(`the top-level fields besides "sessions" are larger than ${MAX_HEADER_BYTES} bytes`);
    }
    this.parts.push(Buffer.from(buf.subarray(this.partStart, end)));
    this.partStart = end;
  }

  private endKey(buf: Buffer, end: number): void {
    this.collect(buf, end);
    this.partStart = -1;
    this.currentKey = JSON.parse(`"${Buffer.concat(this.parts).toString('utf8')}"`) as string;
    this.phase = 'expect-colon';
    this.afterComma = false;
  }

  private endValue(buf: Buffer, end: number): void {
    this.collect(buf, end);
    this.partStart = -1;
    const text = Buffer.concat(this.parts).toString('utf8');
    try {
      this.header[this.currentKey] = JSON.parse(text);
    } catch {
      this.fail(`the value of ${JSON.stringify(this.currentKey)} is not valid JSON`);
    }
  }

  /** The escape at `at` (a backslash inside a string); returns where scanning goes on. */
  private escape(buf: Buffer, at: number): number {
    if (buf[at + 1] !== LOWER_U) return at + 2;
    const code = hex4(buf, at + 2);
    if (code < 0xd800 || code > 0xdfff) return at + 6;
    if (code <= 0xdbff && buf[at + 6] === BACKSLASH && buf[at + 7] === LOWER_U) {
      const low = hex4(buf, at + 8);
      if (low >= 0xdc00 && low <= 0xdfff) return at + 12;
    }
    this.repairedSurrogates++;
    REPLACEMENT_HEX.copy(buf, at + 1);
    return at + 6;
  }

  private fail(message: string): never {
    throw new PayloadShapeError(message);
  }
}
