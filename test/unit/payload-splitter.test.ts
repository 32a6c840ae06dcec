import { describe, expect, it } from 'vitest';
import { PayloadShapeError, PayloadSplitter } from '../../src/puller/payload-splitter.js';
import { generatePayloadText } from '../fake-recall/generate.js';

/** Feeds `text` in chunks of the given sizes (cycled) and returns the NDJSON lines and the splitter. */
function split(text: string, sizes: number[] = [65536]): { lines: string[]; splitter: PayloadSplitter } {
  const input = Buffer.from(text, 'utf8');
  const splitter = new PayloadSplitter();
  const out: Buffer[] = [];
  for (let i = 0, k = 0; i < input.length; k++) {
    const size = sizes[k % sizes.length]!;
    out.push(Buffer.from(splitter.push(Buffer.from(input.subarray(i, i + size)))));
    i += size;
  }
  out.push(splitter.end());
  const lines = Buffer.concat(out).toString('utf8').split('\n');
  expect(lines.pop()).toBe('');
  return { lines, splitter };
}

function shapeError(text: string): string {
  try {
    split(text, [3]);
  } catch (err) {
    expect(err).toBeInstanceOf(PayloadShapeError);
    return (err as Error).message;
  }
  throw new Error(`no error for ${text}`);
}

describe('PayloadSplitter', () => {
  it('turns a generated payload into one line per session, whatever the chunk sizes', () => {
    const text = generatePayloadText({ sessions: 300, seed: 3, messy: false });
    const expected = (JSON.parse(text) as { sessions: unknown[] }).sessions;
    for (const sizes of [[65536], [1], [7, 13, 1, 4096], [11]]) {
      const { lines, splitter } = split(text, sizes);
      expect(lines.map((l) => JSON.parse(l))).toEqual(expected);
      expect(splitter.elements).toBe(300);
      expect(splitter.header).toEqual({ generated_at: 1767225600, scan_version: 1 });
    }
  });

  it('keeps header fields wherever they stand, and elements of any JSON type', () => {
    const text = '{ "scan_version" : 9,\n "sessions" : [ {"a": [1, {"b": "]},"}]},\n null , 5, "x,]" ],\r\n "generated_at": 17, "extra": {"k": [1,2]} }\n';
    const { lines, splitter } = split(text, [1]);
    expect(lines.map((l) => JSON.parse(l))).toEqual([{ a: [1, { b: ']},' }] }, null, 5, 'x,]']);
    expect(splitter.header).toEqual({ scan_version: 9, generated_at: 17, extra: { k: [1, 2] } });
  });

  it('puts an element written over several lines on one line', () => {
    const { lines } = split('{"sessions": [\n  {\n    "id": 1,\r\n    "s": "a\\nb"\n  }\n]}');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ id: 1, s: 'a\nb' });
  });

  it('accepts an empty sessions array', () => {
    const input = Buffer.from('{"sessions": [], "scan_version": 1}');
    const splitter = new PayloadSplitter();
    expect(Buffer.concat([splitter.push(input), splitter.end()]).length).toBe(0);
    expect(splitter.elements).toBe(0);
  });

  it('rewrites unpaired surrogate escapes to U+FFFD, also across chunk boundaries, and keeps pairs', () => {
    const text = '{"sessions": [{"p": "cut \\ud83d"}, {"p": "\\udE00 low"}, {"p": "ok \\ud83d\\ude00"}, {"p": "\\\\ud83d literal"}], "scan_version": 1}';
    for (const sizes of [[65536], [1], [17], [30, 2, 5]]) {
      const { lines, splitter } = split(text, sizes);
      expect(lines.map((l) => (JSON.parse(l) as { p: string }).p)).toEqual(['cut \ufffd', '\ufffd low', 'ok \u{1F600}', '\\ud83d literal']);
      expect(splitter.repairedSurrogates).toBe(2);
    }
  });

  it('refuses payloads of the wrong shape with a message that says what is wrong', () => {
    expect(shapeError('[{"id": 1}]')).toMatch(/JSON array, not an object/);
    expect(shapeError('{"items": [1]}')).toMatch(/no "sessions" array/);
    expect(shapeError('{"sessions": {"a": 1}}')).toMatch(/"sessions" is not an array/);
    expect(shapeError('{"sessions": [1, 2')).toMatch(/ends early/);
    expect(shapeError('{"sessions": [1, 2,]}')).toMatch(/trailing comma/);
    expect(shapeError('{"sessions": [1,, 2]}')).toMatch(/empty element/);
    expect(shapeError('{"sessions": [1]} trailing')).toMatch(/more data after/);
    expect(shapeError('{"sessions": [], "sessions": []}')).toMatch(/appears twice/);
    expect(shapeError('{"scan_version": tru, "sessions": []}')).toMatch(/"scan_version" is not valid JSON/);
    expect(shapeError('')).toMatch(/empty/);
    expect(shapeError('<html>502 Bad Gateway</html>')).toMatch(/not a JSON object/);
    expect(shapeError('{"sessions": [{"id": 1}}]}')).toMatch(/unbalanced/);
  });
});

/** The NDJSON for `text` fed as two pieces cut at `at` (0: one piece). */
function cutAt(text: Buffer, at: number): { out: string; splitter: PayloadSplitter } {
  const splitter = new PayloadSplitter();
  const pieces = at === 0 ? [text] : [text.subarray(0, at), text.subarray(at)];
  const out = Buffer.concat([...pieces.map((p) => Buffer.from(splitter.push(Buffer.from(p)))), splitter.end()]);
  return { out: out.toString('utf8'), splitter };
}

describe('PayloadSplitter at every chunk boundary', () => {
  // Everything the scanner must see whole or carry over: escaped quotes and backslashes, structure
  // characters inside strings, a surrogate pair and a lone one, an escaped key, CRLF between tokens,
  // nested values, multi-byte UTF-8, header fields before and after the array.
  const TRICKY = [
    '{"scan_version": {"n": [1, "]},"]}, "sess\\u0069ons"\r\n: [',
    '{"s": "a \\"quoted\\", [bracketed] {braced}, commas"},\r\n',
    '"\\\\", ',
    '[1, [2, 3], {"k": "v,w"}],',
    '{"e": "\\ud83d\\ude00 and \\ud83d alone", "u": "日本語 é"},',
    'null, 17, true',
    '], "generated_at": 1700000000, "note": "tail \\" }"}',
  ].join('');

  it('gives the same lines and header wherever the input is cut, byte by byte', () => {
    const bytes = Buffer.from(TRICKY, 'utf8');
    const whole = cutAt(bytes, 0);
    const lines = whole.out.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { s: 'a "quoted", [bracketed] {braced}, commas' },
      '\\',
      [1, [2, 3], { k: 'v,w' }],
      { e: '\u{1F600} and \ufffd alone', u: '日本語 é' },
      null,
      17,
      true,
    ]);
    expect(whole.splitter.header).toEqual({ scan_version: { n: [1, ']},'] }, generated_at: 1700000000, note: 'tail " }' });
    expect([whole.splitter.elements, whole.splitter.repairedSurrogates, whole.splitter.bytesIn]).toEqual([7, 1, bytes.length]);
    for (let at = 1; at < bytes.length; at++) {
      const cut = cutAt(bytes, at);
      expect(cut.out, `cut at byte ${at}`).toBe(whole.out);
      expect(cut.splitter.header, `cut at byte ${at}`).toEqual(whole.splitter.header);
      expect(cut.splitter.repairedSurrogates, `cut at byte ${at}`).toBe(1);
    }
  });

  it('ends with a backslash as the last byte of a chunk and resumes the escape in the next', () => {
    const { lines } = split('{"sessions": ["a\\\\", "b\\"c", "\\u0041"]}', [16, 1, 1, 1]);
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(['a\\', 'b"c', 'A']);
  });
});

describe('PayloadSplitter header bound', () => {
  it('keeps header fields up to 64 KiB, and refuses more rather than holding an unbounded value', () => {
    const header = (bytes: number) => `{"note": "${'x'.repeat(bytes)}", "sessions": [1]}`;
    // The bound counts every key (`sessions` too) and every value but the array, quotes included.
    const fits = 64 * 1024 - 'note'.length - '""'.length - 'sessions'.length;
    expect(split(header(fits), [4096]).splitter.header.note).toHaveLength(fits);
    expect(() => split(header(fits + 1), [4096])).toThrow(/larger than 65536 bytes/);
  });
});
