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
      expect(lines.map((l) => (JSON.parse(l) as { p: string }).p)).toEqual([
        'cut \ufffd',
        '\ufffd low',
        'ok \u{1F600}',
        '\\ud83d literal',
      ]);
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
