import { afterAll, describe, expect, it } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { INVALID_KINDS, describeMessiness, generatePayloadText, writePayloadFile, type InvalidKind, type RecallSession } from '../fake-recall/generate.js';
import { ifNoneMatchMatches } from '../fake-recall/server.js';
import { isRecord, parsePayload } from '../helpers/payload-shape.js';
import { removeTempHomes, tempHome } from '../helpers/temp-home.js';

// The fake upstream's payload generator and its If-None-Match rule, in process (its server, over real sockets: test/fake-recall.test.ts).

const NULLABLE = ['cwd', 'started_at', 'ended_at', 'last_prompt', 'duration_ms', 'parent_uuid', 'request_id', 'message_id'] as const;
const INT_FIELDS = [
  'id',
  'message_count',
  'user_message_count',
  'assistant_message_count',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_creation_tokens',
  'is_sidechain_count',
] as const;
const SESSION_KEYS = [
  'id',
  'session_uuid',
  'cwd',
  'started_at',
  'ended_at',
  'message_count',
  'user_message_count',
  'assistant_message_count',
  'last_prompt',
  'source_file',
  'duration_ms',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_creation_tokens',
  'parent_uuid',
  'request_id',
  'message_id',
  'is_sidechain_count',
  'models_used',
  'tools_used',
  'tool_call_counts_json',
  'stop_reason_counts_json',
].sort();

/** A lone surrogate in a decoded JS string. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** A lone surrogate *escape* in raw JSON text. */
const RAW_LONE_ESCAPE = /\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})/gi;

/** The loader's notion of an invalid row (what the generator's invalid rows break). */
function invalidKind(el: unknown): InvalidKind | 'other' | null {
  if (!isRecord(el)) return 'other';
  const s = el.session;
  if (s === null) return 'session-null';
  if (!isRecord(s)) return 'other';
  if (typeof s.id !== 'number') return 'id-not-numeric';
  if (!('session_uuid' in s)) return 'uuid-missing';
  if (typeof s.message_count !== 'number') return 'message-count-string';
  return null;
}

/** Why `s` is not a valid session of the documented shape, or null. Plain code: called per row. */
function sessionProblem(s: Record<string, unknown>): string | null {
  const keys = Object.keys(s).sort();
  if (keys.join() !== SESSION_KEYS.join()) return `keys ${keys.join()}`;
  for (const k of INT_FIELDS) if (!Number.isInteger(s[k])) return `${k} not an int`;
  if (typeof s.session_uuid !== 'string') return 'session_uuid';
  if (typeof s.source_file !== 'string') return 'source_file';
  for (const k of NULLABLE) {
    const v = s[k];
    if (v === null) continue;
    const isInt = k === 'started_at' || k === 'ended_at' || k === 'duration_ms';
    if (isInt ? !Number.isInteger(v) : typeof v !== 'string') return `${k} has the wrong type`;
  }
  for (const k of ['models_used', 'tools_used'] as const) {
    const v = s[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return `${k} not a string array`;
  }
  if (typeof s.tool_call_counts_json !== 'string') return 'tool_call_counts_json not a string';
  if (typeof s.stop_reason_counts_json !== 'string') return 'stop_reason_counts_json not a string';
  return null;
}

function checkValidSession(s: Record<string, unknown>): void {
  expect(sessionProblem(s)).toBeNull();
}

afterAll(removeTempHomes);

describe('generator', () => {
  it('produces the documented shape with exactly `sessions` elements and ascending unique ids', () => {
    const n = 300;
    const text = generatePayloadText({ sessions: n, seed: 7, scanVersion: 5, generatedAt: 1700002000 });
    const p = parsePayload(text);
    expect(p.sessions).toHaveLength(n);
    expect(p.generated_at).toBe(1700002000);
    expect(p.scan_version).toBe(5);
    const m = describeMessiness({ sessions: n, seed: 7 });
    p.sessions.forEach((el, i) => {
      if (!isRecord(el)) throw new Error('element not an object');
      expect(Object.keys(el)).toEqual(['session', 'repos']);
      expect(Array.isArray(el.repos)).toBe(true);
      for (const r of el.repos as unknown[]) {
        expect(Array.isArray(r) && r.length === 3 && Number.isInteger(r[0]) && typeof r[1] === 'string' && typeof r[2] === 'string').toBe(true);
      }
      if (m.invalidIndices.includes(i)) return;
      if (!isRecord(el.session)) throw new Error('session not an object');
      checkValidSession(el.session);
      expect(el.session.id).toBe(i + 1);
    });
  });

  it('is deterministic: same options give byte-identical files, another seed differs', async () => {
    const dir = (await tempHome('fake-recall-test-')).dir;
    const opts = { sessions: 1500, seed: 42 };
    const a = await writePayloadFile(opts, join(dir, 'a.json'));
    const b = await writePayloadFile(opts, join(dir, 'b.json'));
    const c = await writePayloadFile({ ...opts, seed: 43 }, join(dir, 'c.json'));
    const [ba, bb, bc] = await Promise.all(['a', 'b', 'c'].map((x) => readFile(join(dir, `${x}.json`))));
    expect(a.bytes).toBe(b.bytes);
    expect(a.bytes).toBe((await stat(join(dir, 'a.json'))).size);
    expect(ba?.equals(bb as Buffer)).toBe(true);
    expect(ba?.equals(bc as Buffer)).toBe(false);
    expect(c.bytes).toBe(bc?.length);
    expect(ba?.toString('utf8')).toBe(generatePayloadText(opts));
  });

  it('20k messy: describeMessiness matches the payload exactly, and the mess is all there', () => {
    const n = 20_000;
    const opts = { sessions: n, seed: 3 };
    const text = generatePayloadText(opts);
    const m = describeMessiness(opts);
    const p = parsePayload(text);
    expect(p.sessions).toHaveLength(n);
    expect(text.length / n).toBeGreaterThan(900); // ~1.2-1.3 KB per element
    expect(text.length / n).toBeLessThan(1800);

    const byKind: Record<string, number> = {};
    const invalidIdx: number[] = [];
    const surrogateIdx: number[] = [];
    const uuids = new Set<string>();
    const nulls: Record<string, number> = {};
    const repoCounts = new Set<number>();
    const toolCountStrings = new Set<string>();
    const problems: string[] = [];
    let caseVariant = 0;
    let noTimestamps = 0;
    let huge = 0;
    let unicode = 0;
    p.sessions.forEach((el, i) => {
      const kind = invalidKind(el);
      if (kind !== null) {
        byKind[kind] = (byKind[kind] ?? 0) + 1;
        invalidIdx.push(i);
        return;
      }
      if (!isRecord(el) || !isRecord(el.session)) throw new Error('unreachable');
      const s = el.session as unknown as RecallSession;
      const problem = sessionProblem(el.session);
      if (problem !== null) problems.push(`row ${i}: ${problem}`);
      uuids.add(s.session_uuid);
      for (const k of NULLABLE) if (s[k] === null) nulls[k] = (nulls[k] ?? 0) + 1;
      repoCounts.add((el.repos as unknown[]).length);
      if (s.last_prompt !== null && LONE_SURROGATE.test(s.last_prompt)) surrogateIdx.push(i);
      if (s.last_prompt !== null && s.last_prompt.length >= 20_000) huge++;
      if (/[^\x00-\x7f]/.test(`${s.last_prompt ?? ''}${s.cwd ?? ''}`)) unicode++;
      if (s.started_at === null && s.ended_at === null) noTimestamps++;
      const lower = new Set(s.tools_used.map((t) => t.toLowerCase()));
      if (s.tools_used.some((t) => t === t.toLowerCase() && !t.startsWith('mcp__')) || lower.size < s.tools_used.length) caseVariant++;
      toolCountStrings.add(s.tool_call_counts_json);
    });

    expect(problems).toEqual([]);
    expect(m.invalidRows).toBeGreaterThan(0);
    expect(invalidIdx).toEqual(m.invalidIndices);
    for (const k of INVALID_KINDS) expect(byKind[k] ?? 0, k).toBe(m.invalidByKind[k]);
    expect(byKind.other).toBeUndefined();
    expect(m.validRows).toBe(n - m.invalidRows);

    expect(m.surrogateRows).toBeGreaterThan(0);
    expect(surrogateIdx).toEqual(m.surrogateIndices);
    expect(text.match(RAW_LONE_ESCAPE)?.length).toBe(m.surrogateRows);

    expect(uuids.size).toBe(m.validRows); // no duplicate session_uuid
    for (const k of NULLABLE) expect(nulls[k] ?? 0, `nulls in ${k}`).toBeGreaterThan(20);
    expect([...repoCounts].sort()).toEqual([0, 1, 2, 3]);
    expect(noTimestamps).toBeGreaterThan(50);
    expect(huge).toBeGreaterThan(10);
    expect(unicode).toBeGreaterThan(200);
    expect(caseVariant).toBeGreaterThan(50);
    for (const bad of ['', '{', 'null', '[]', '{"Bash": {"calls": "x"}}']) expect(toolCountStrings.has(bad), JSON.stringify(bad)).toBe(true);
  });

  it('small messy payloads (>= 50 sessions) always carry an invalid row and a raw surrogate escape', () => {
    for (const seed of [1, 2, 3, 99]) {
      const text = generatePayloadText({ sessions: 50, seed });
      const m = describeMessiness({ sessions: 50, seed });
      expect(m.invalidRows).toBeGreaterThanOrEqual(1);
      expect(m.surrogateRows).toBeGreaterThanOrEqual(1);
      expect(text).toContain('\\ud83d"'); // the escape, raw, right before the closing quote
      expect(text.match(RAW_LONE_ESCAPE)?.length).toBe(m.surrogateRows);
      const p = parsePayload(text); // JSON.parse accepts it
      const invalid = p.sessions.filter((el) => invalidKind(el) !== null).length;
      expect(invalid).toBe(m.invalidRows);
    }
  });

  it('clean mode has no invalid rows, no nulls, no surrogates and well-formed count strings', () => {
    const n = 3000;
    const text = generatePayloadText({ sessions: n, seed: 5, messy: false });
    const m = describeMessiness({ sessions: n, seed: 5, messy: false });
    expect(m.invalidRows).toBe(0);
    expect(m.surrogateRows).toBe(0);
    expect(text.match(RAW_LONE_ESCAPE)).toBeNull();
    const p = parsePayload(text);
    expect(p.sessions).toHaveLength(n);
    const problems: string[] = [];
    p.sessions.forEach((el, i) => {
      const bad = (why: string): void => {
        problems.push(`row ${i}: ${why}`);
      };
      if (invalidKind(el) !== null) return bad('invalid row');
      if (!isRecord(el) || !isRecord(el.session)) return bad('not an object');
      const s = el.session as unknown as RecallSession;
      const problem = sessionProblem(el.session);
      if (problem !== null) return bad(problem);
      for (const k of NULLABLE) if (s[k] === null) bad(`${k} is null`);
      if ((el.repos as unknown[]).length !== 1) bad('repos.length != 1');
      try {
        const tc: unknown = JSON.parse(s.tool_call_counts_json);
        if (!isRecord(tc)) return bad('tool counts not an object');
        if (Object.keys(tc).join() !== s.tools_used.join()) bad('tool counts keys != tools_used');
        for (const v of Object.values(tc)) if (!(isRecord(v) && Number.isInteger(v.calls) && Number.isInteger(v.errors))) bad('tool count entry');
        const sr: unknown = JSON.parse(s.stop_reason_counts_json);
        if (!isRecord(sr)) return bad('stop counts not an object');
        for (const v of Object.values(sr)) if (!Number.isInteger(v)) bad('stop count entry');
      } catch (err) {
        bad(`count string does not parse: ${String(err)}`);
      }
      if (new Set(s.tools_used.map((t) => t.toLowerCase())).size !== s.tools_used.length) bad('case-variant tool names');
      if (/[\x80-\uffff]/.test(`${s.last_prompt ?? ''}${s.cwd ?? ''}${JSON.stringify(el.repos)}`)) bad('non-ASCII text');
    });
    expect(problems).toEqual([]);
  });

  it('handles 0 sessions', () => {
    expect(parsePayload(generatePayloadText({ sessions: 0 })).sessions).toEqual([]);
    expect(describeMessiness({ sessions: 0 }).invalidRows).toBe(0);
  });
});

describe('ifNoneMatchMatches', () => {
  it('handles weak tags, lists and *', () => {
    expect(ifNoneMatchMatches('"3"', '"3"')).toBe(true);
    expect(ifNoneMatchMatches('W/"3"', '"3"')).toBe(true);
    expect(ifNoneMatchMatches('"1", W/"3"', '"3"')).toBe(true);
    expect(ifNoneMatchMatches('*', '"3"')).toBe(true);
    expect(ifNoneMatchMatches('"4"', '"3"')).toBe(false);
    expect(ifNoneMatchMatches('3', '"3"')).toBe(false);
    expect(ifNoneMatchMatches(undefined, '"3"')).toBe(false);
  });
});
