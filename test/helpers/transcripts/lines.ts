/**
 * Claude Code's transcript lines, as its JSONL files hold them (docs/design.md, "The transcript
 * line format"): one JSON object per line, compact (`"usage":{` with no space, as Claude Code and
 * ccusage's fast path both expect). Only the fields a reader of usage relies on are exact; the
 * text fields carry filler of the requested size.
 */

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_5m: number;
  cache_creation_1h: number;
  cache_read_input_tokens: number;
}

/** The common envelope of a user or assistant line. */
export interface Envelope {
  sessionId: string;
  cwd: string;
  version: string;
  gitBranch: string;
  isSidechain: boolean;
  agentId?: string;
  parentUuid: string | null;
  uuid: string;
  timestamp: string;
}

function envelope(e: Envelope): Record<string, unknown> {
  const out: Record<string, unknown> = {
    parentUuid: e.parentUuid,
    isSidechain: e.isSidechain,
    userType: 'external',
    cwd: e.cwd,
    sessionId: e.sessionId,
    version: e.version,
    gitBranch: e.gitBranch,
  };
  if (e.agentId !== undefined) out.agentId = e.agentId;
  return out;
}

export function userPromptLine(e: Envelope, text: string): string {
  return JSON.stringify({ ...envelope(e), type: 'user', message: { role: 'user', content: text }, uuid: e.uuid, timestamp: e.timestamp });
}

/**
 * The user's line answering a tool_use. `toolUseResult` is the tool's own record of it: a Bash
 * result's unless given (a Task result's carries the subagent's usage, which is no response of
 * this session).
 */
export function toolResultLine(e: Envelope, toolUseId: string, text: string, toolUseResult?: Record<string, unknown>): string {
  return JSON.stringify({
    ...envelope(e),
    type: 'user',
    message: { role: 'user', content: [{ tool_use_id: toolUseId, type: 'tool_result', content: text, is_error: false }] },
    uuid: e.uuid,
    timestamp: e.timestamp,
    toolUseResult: toolUseResult ?? { stdout: text, stderr: '', interrupted: false, isImage: false },
  });
}

export type ContentBlock =
  // No reader of usage looks at the signature: a hand-written line may leave it out.
  | { type: 'thinking'; thinking: string; signature?: string }
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, string> };

export interface AssistantLine {
  /** Absent for the lines of old Claude Code versions that wrote no message id. */
  messageId?: string;
  /** Absent for old versions and for `<synthetic>` lines. */
  requestId?: string;
  model: string;
  block: ContentBlock;
  usage: Usage;
  /** The cache_creation breakdown object (Claude Code since mid-2025); without it only the total is written. */
  breakdown: boolean;
  stopReason: string | null;
  apiError?: boolean;
}

/** One content block of a response: every line of a response repeats its id, requestId and usage. */
export function assistantLine(e: Envelope, a: AssistantLine): string {
  const u = a.usage;
  const usage: Record<string, unknown> = {
    input_tokens: u.input_tokens,
    cache_creation_input_tokens: u.cache_creation_5m + u.cache_creation_1h,
    cache_read_input_tokens: u.cache_read_input_tokens,
  };
  if (a.breakdown) usage.cache_creation = { ephemeral_5m_input_tokens: u.cache_creation_5m, ephemeral_1h_input_tokens: u.cache_creation_1h };
  usage.output_tokens = u.output_tokens;
  usage.service_tier = a.model === '<synthetic>' ? null : 'standard';
  const message: Record<string, unknown> = {};
  if (a.messageId !== undefined) message.id = a.messageId;
  Object.assign(message, { type: 'message', role: 'assistant', model: a.model, content: [a.block], stop_reason: a.stopReason, stop_sequence: null, usage });
  const line: Record<string, unknown> = { ...envelope(e), message };
  if (a.requestId !== undefined) line.requestId = a.requestId;
  if (a.apiError) line.isApiErrorMessage = true;
  line.type = 'assistant';
  line.uuid = e.uuid;
  line.timestamp = e.timestamp;
  return JSON.stringify(line);
}

/** The line a resumed or compacted session starts with (no usage). */
export function summaryLine(summary: string, leafUuid: string): string {
  return JSON.stringify({ type: 'summary', summary, leafUuid });
}

/** Claude Code's project directory name for a cwd: every character but [A-Za-z0-9-] becomes `-`. */
export function encodeCwd(cwd: string): string {
  return cwd.replace(/[^A-Za-z0-9-]/g, '-');
}
