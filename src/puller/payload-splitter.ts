import { LatticeError } from '../shared/errors.js';

/** The upstream payload is not `{"sessions": [...], ...}`: the tick fails, nothing is published. */
export class PayloadShapeError extends LatticeError {
  constructor(message: string) {
    super('payload-shape', `upstream payload is not the expected shape: ${message}`);
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

const REPLACEMENT_ESCAPE = Buffer.from('\\ufffd');
const SPACE = Buffer.from(' ');
const LINE_END = Buffer.from('\n');
/** Longest escape that must be seen in one piece: a surrogate pair, `\uD83D\uDE00`. */
const ESCAPE_LOOKAHEAD = 12;
const MAX_HEADER_BYTES = 64 * 1024;

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === NEWLINE || b === RETURN || b === 0x09;
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

type Phase =
  | 'before-object'
  | 'expect-key'
  | 'in-key'
  | 'expect-colon'
  | 'expect-value'
  | 'in-value'
  | 'expect-element'
  | 'in-element'
  | 'after-element'
  | 'after-value'
  | 'done';

/** Where the bytes being scanned go: nowhere, the NDJSON output, a header value, or a key. */
type Sink = 'none' | 'element' | 'value' | 'key';

/**
 * Streams an upstream payload `{"sessions": [e1, e2, ...], "scan_version": N, ...}` into
 * newline-delimited JSON, one session element per line, without ever holding the payload:
 * DuckDB then reads the lines in parallel, and a bad row costs that row, not the whole load.
 *
 * On the way it rewrites every unpaired UTF-16 surrogate escape (`\ud83d`, a truncated emoji) to
 * `\ufffd`: JSON.parse accepts them, but DuckDB's reader rejects the entire document.
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
  private depth = 0;
  private sink: Sink = 'none';
  private sinkStart = 0;
  private out: Buffer[] = [];
  private keyParts: Buffer[] = [];
  private valueParts: Buffer[] = [];
  private headerBytes = 0;
  private currentKey = '';
  private sawSessions = false;
  private afterComma = false;
  private carry: Buffer | null = null;

  /** Feeds the next chunk; returns the NDJSON bytes completed so far (possibly empty). */
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
      throw new PayloadShapeError(
        this.bytesIn === 0 ? 'the body is empty' : `the JSON ends early (truncated after ${this.bytesIn} bytes)`,
      );
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
    this.sinkStart = 0;
    let i = 0;
    // Position of the next backslash at or after i (-1: none left in this chunk); cached because
    // searching for it from every string start would rescan the chunk over and over.
    let slash = buf.indexOf(BACKSLASH);
    while (i < n) {
      if (this.inString) {
        const quote = buf.indexOf(QUOTE, i);
        if (slash !== -1 && slash < i) slash = buf.indexOf(BACKSLASH, i);
        if (slash !== -1 && (quote === -1 || slash < quote)) {
          if (slash + ESCAPE_LOOKAHEAD > n && !final) {
            // The escape may straddle two chunks: keep its bytes for the next one.
            this.flush(buf, slash);
            this.carry = Buffer.from(buf.subarray(slash));
            return;
          }
          i = this.escape(buf, slash);
          continue;
        }
        if (quote === -1) {
          i = n;
          break;
        }
        this.inString = false;
        if (this.phase === 'in-key') {
          this.flush(buf, quote);
          this.sink = 'none';
          this.currentKey = JSON.parse(`"${Buffer.concat(this.keyParts).toString('utf8')}"`) as string;
          this.phase = 'expect-colon';
        }
        i = quote + 1;
        continue;
      }
      const b = buf[i]!;
      // Fast path for the bulk of the payload: plain bytes inside a session element.
      if (
        this.phase === 'in-element' &&
        b !== QUOTE &&
        b !== COMMA &&
        b !== NEWLINE &&
        b !== RETURN &&
        b !== OPEN_BRACE &&
        b !== CLOSE_BRACE &&
        b !== OPEN_BRACKET &&
        b !== CLOSE_BRACKET
      ) {
        i++;
        continue;
      }
      this.step(buf, i, b);
      i++;
    }
    this.flush(buf, n);
  }

  /** One byte outside any string. */
  private step(buf: Buffer, i: number, b: number): void {
    switch (this.phase) {
      case 'in-element':
        return this.elementByte(buf, i, b);
      case 'in-value':
        return this.valueByte(buf, i, b);
      case 'after-element':
        if (b === COMMA) {
          this.phase = 'expect-element';
          this.afterComma = true;
        } else if (b === CLOSE_BRACKET) this.phase = 'after-value';
        else if (!isWhitespace(b)) this.fail(`unexpected ${JSON.stringify(String.fromCharCode(b))} between sessions`);
        return;
      case 'expect-element':
        if (isWhitespace(b)) return;
        if (b === CLOSE_BRACKET) {
          if (this.afterComma) this.fail('"sessions" ends with a trailing comma');
          this.phase = 'after-value';
          return;
        }
        this.phase = 'in-element';
        this.sink = 'element';
        this.sinkStart = i;
        this.depth = 0;
        return this.elementByte(buf, i, b);
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
        this.keyParts = [];
        this.sink = 'key';
        this.sinkStart = i + 1;
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
          this.afterComma = false;
          this.phase = 'expect-element';
          return;
        }
        this.phase = 'in-value';
        this.sink = 'value';
        this.sinkStart = i;
        this.valueParts = [];
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
        return; // keys are strings, scanned in scan()
    }
  }

  private elementByte(buf: Buffer, i: number, b: number): void {
    if (b === QUOTE) this.inString = true;
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth++;
    else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      if (this.depth === 0) {
        // `]` right after a scalar element closes the sessions array.
        if (b === CLOSE_BRACE) this.fail('unbalanced "}" in "sessions"');
        this.endElement(buf, i);
        this.phase = 'after-value';
        return;
      }
      this.depth--;
      if (this.depth === 0) {
        this.endElement(buf, i + 1);
        this.phase = 'after-element';
      }
    } else if (b === COMMA && this.depth === 0) {
      this.endElement(buf, i);
      this.phase = 'expect-element';
      this.afterComma = true;
    } else if (b === NEWLINE || b === RETURN) {
      // Whitespace between tokens may hold a line break; an NDJSON line must not.
      this.flush(buf, i);
      this.out.push(SPACE);
      this.sinkStart = i + 1;
    }
  }

  private endElement(buf: Buffer, end: number): void {
    this.flush(buf, end);
    this.sink = 'none';
    this.out.push(LINE_END);
    this.elements++;
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

  private endValue(buf: Buffer, end: number): void {
    this.flush(buf, end);
    this.sink = 'none';
    const text = Buffer.concat(this.valueParts).toString('utf8');
    this.valueParts = [];
    try {
      this.header[this.currentKey] = JSON.parse(text);
    } catch {
      this.fail(`the value of ${JSON.stringify(this.currentKey)} is not valid JSON`);
    }
  }

  /** Moves the pending bytes [sinkStart, end) into the current sink. */
  private flush(buf: Buffer, end: number): void {
    if (this.sink === 'none' || end <= this.sinkStart) {
      this.sinkStart = end;
      return;
    }
    const part = buf.subarray(this.sinkStart, end);
    this.sinkStart = end;
    if (this.sink === 'element') {
      this.out.push(part);
      return;
    }
    this.headerBytes += part.length;
    if (this.headerBytes > MAX_HEADER_BYTES) {
      this.fail(`the top-level fields besides "sessions" are larger than ${MAX_HEADER_BYTES} bytes`);
    }
    (this.sink === 'key' ? this.keyParts : this.valueParts).push(Buffer.from(part));
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
    this.flush(buf, at);
    if (this.sink === 'element') this.out.push(REPLACEMENT_ESCAPE);
    else if (this.sink !== 'none') (this.sink === 'key' ? this.keyParts : this.valueParts).push(REPLACEMENT_ESCAPE);
    this.sinkStart = at + 6;
    return at + 6;
  }

  private fail(message: string): never {
    throw new PayloadShapeError(message);
  }
}
