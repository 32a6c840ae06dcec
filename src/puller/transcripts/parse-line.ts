/**
 * One transcript line -> the usage of one API response, or why not. Privacy first: a line is only
 * parsed when it can carry usage, and only the fields below are copied out of it; nothing of its
 * text (prompt, response, thinking, tool input or result) is kept, returned, logged or quoted.
 *
 * Claude Code writes each session as `<projects>/<project>/<sessionId>.jsonl` (a subagent's as
 * `<sessionId>/subagents/agent-<id>.jsonl`), one JSON object per line. The lines this reads are
 * the assistant's, one per content block of a response (thinking, text, each tool_use), each
 * repeating the response's ids and usage (an earlier one can hold a streaming partial of
 * output_tokens):
 *
 *   {"parentUuid":"…","isSidechain":false,"userType":"external","cwd":"/home/me/proj",
 *    "sessionId":"1f0e…","version":"2.0.14","gitBranch":"main","agentId":"a83f…" (subagent lines),
 *    "message":{"id":"msg_01…","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
 *               "content":[{"type":"text","text":"…"}],"stop_reason":null,"stop_sequence":null,
 *               "usage":{"input_tokens":4,"cache_creation_input_tokens":1201,"cache_read_input_tokens":20532,
 *                        "cache_creation":{"ephemeral_5m_input_tokens":1201,"ephemeral_1h_input_tokens":0},
 *                        "output_tokens":312,"service_tier":"standard"}},
 *    "requestId":"req_011…","type":"assistant","uuid":"…","timestamp":"2025-10-02T17:03:11.912Z"}
 *
 * Relied on: sessionId, timestamp (ISO 8601), message.usage (input_tokens, output_tokens,
 * cache_read_input_tokens, cache_creation_input_tokens, cache_creation.ephemeral_5m/1h_input_tokens,
 * service_tier), message.id, message.model, requestId, agentId, isSidechain, cwd. Anything else
 * (user lines, summaries, a tool result's own `usage` under toolUseResult) is not a response.
 */

/** What the cheap pre-filter looks for: a line without these bytes holds no usage and is never parsed. */
export const USAGE_MARKER = Buffer.from('"usage"');

/** The largest count believed: beyond it (or negative, or fractional) a line is malformed, as upstream's are (src/shared/base-tables.ts). */
const MAX_COUNT = 1e12;

export interface ResponseLine {
  sessionUuid: string;
  messageId: string | null;
  requestId: string | null;
  agentId: string | null;
  isSidechain: boolean;
  /** Microseconds since the epoch, UTC. */
  timestampMicros: bigint;
  model: string | null;
  inputTokens: number;
  outputTokens: number;
  cacheCreation5mTokens: number;
  cacheCreation1hTokens: number;
  cacheReadTokens: number;
  serviceTier: string | null;
  cwd: string | null;
}

/** `null`: not a response (no message.usage); `malformed`: a line that should have been one and cannot be believed. */
export type ParsedLine = ResponseLine | null | 'malformed';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string field, or null when absent; undefined when present with another type. */
function optionalString(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : undefined;
}

/** A token count: absent/null counts as `absent`; anything but a whole number in [0, 10^12] is undefined. */
function count(value: unknown, absent: number | undefined): number | undefined {
  if (value === undefined || value === null) return absent;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_COUNT) return undefined;
  return value;
}

/** Parses one line (without its newline) already known to contain USAGE_MARKER. */
export function parseLine(text: string): ParsedLine {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'malformed';
  }
  if (!isRecord(doc) || !isRecord(doc.message) || !isRecord(doc.message.usage)) return null;
  const message = doc.message;
  const usage = doc.message.usage;
  const sessionUuid = doc.sessionId;
  const timestamp = doc.timestamp;
  if (typeof sessionUuid !== 'string' || sessionUuid === '' || typeof timestamp !== 'string' || !ISO_INSTANT.test(timestamp)) return 'malformed';
  const ms = Date.parse(timestamp);
  if (!Number.isFinite(ms)) return 'malformed';
  // Claude Code writes milliseconds; a finer fraction is cut there.
  const timestampMicros = BigInt(ms) * 1000n;

  const inputTokens = count(usage.input_tokens, undefined);
  const outputTokens = count(usage.output_tokens, undefined);
  const cacheRead = count(usage.cache_read_input_tokens, 0);
  const cacheCreation = count(usage.cache_creation_input_tokens, 0);
  if (inputTokens === undefined || outputTokens === undefined || cacheRead === undefined || cacheCreation === undefined) return 'malformed';
  let cache5m = cacheCreation;
  let cache1h = 0;
  const split = usage.cache_creation;
  if (isRecord(split) && (split.ephemeral_5m_input_tokens !== undefined || split.ephemeral_1h_input_tokens !== undefined)) {
    const m5 = count(split.ephemeral_5m_input_tokens, 0);
    const h1 = count(split.ephemeral_1h_input_tokens, 0);
    if (m5 === undefined || h1 === undefined) return 'malformed';
    cache5m = m5;
    cache1h = h1;
  } else if (split !== undefined && split !== null && !isRecord(split)) {
    return 'malformed';
  }

  const messageId = optionalString(message.id);
  const requestId = optionalString(doc.requestId);
  const agentId = optionalString(doc.agentId);
  const model = optionalString(message.model);
  const serviceTier = optionalString(usage.service_tier);
  const cwd = optionalString(doc.cwd);
  if (messageId === undefined || requestId === undefined || agentId === undefined || model === undefined || serviceTier === undefined || cwd === undefined) {
    return 'malformed';
  }
  return {
    sessionUuid,
    messageId: messageId === '' ? null : messageId,
    requestId: requestId === '' ? null : requestId,
    agentId,
    isSidechain: doc.isSidechain === true,
    timestampMicros,
    model,
    inputTokens,
    outputTokens,
    cacheCreation5mTokens: cache5m,
    cacheCreation1hTokens: cache1h,
    cacheReadTokens: cacheRead,
    serviceTier,
    cwd,
  };
}

/**
 * What tells responses apart: message.id + requestId, message.id alone without a requestId, or
 * the file and byte offset of a line with no message.id (so re-reading the same file finds the
 * same key). The prefixes keep the three kinds apart, and the id's length keeps `a:b` + `c` apart
 * from `a` + `b:c`.
 */
export function messageKey(line: ResponseLine, file: string, offset: number): string {
  if (line.messageId === null) return `line:${offset}:${file}`;
  if (line.requestId === null) return `id:${line.messageId}`;
  return `req:${line.messageId.length}:${line.messageId}:${line.requestId}`;
}
