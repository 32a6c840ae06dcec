/**
 * Transcript lines in Claude Code's format, for the transcripts source's tests (the full
 * generator, with its realistic mix, is t-proof's). Each helper returns one JSON line with its newline.
 */
export interface AssistantLine {
  sessionId?: string;
  id?: string | null;
  requestId?: string | null;
  timestamp?: string;
  model?: string;
  output?: number;
  input?: number;
  cacheRead?: number;
  cacheCreation?: number;
  split?: { m5: number; h1: number } | null;
  agentId?: string;
  sidechain?: boolean;
  cwd?: string;
  /** the content block: text, thinking or a tool_use */
  block?: Record<string, unknown>;
}

export function assistant(o: AssistantLine = {}): string {
  const usage: Record<string, unknown> = {
    input_tokens: o.input ?? 10,
    cache_creation_input_tokens: o.cacheCreation ?? 0,
    cache_read_input_tokens: o.cacheRead ?? 0,
    output_tokens: o.output ?? 5,
    service_tier: 'standard',
  };
  if (o.split) usage.cache_creation = { ephemeral_5m_input_tokens: o.split.m5, ephemeral_1h_input_tokens: o.split.h1 };
  const message: Record<string, unknown> = {
    type: 'message',
    role: 'assistant',
    model: o.model ?? 'claude-sonnet-4-5-20250929',
    content: [o.block ?? { type: 'text', text: 'a reply' }],
    stop_reason: null,
    stop_sequence: null,
    usage,
  };
  if (o.id !== null) message.id = o.id ?? 'msg_1';
  const line: Record<string, unknown> = {
    parentUuid: null,
    isSidechain: o.sidechain ?? false,
    userType: 'external',
    cwd: o.cwd ?? '/home/me/proj',
    sessionId: o.sessionId ?? 'sess-1',
    version: '2.0.14',
    gitBranch: 'main',
    message,
    type: 'assistant',
    uuid: `u-${Math.random()}`,
    timestamp: o.timestamp ?? '2025-06-01T10:00:00.000Z',
  };
  if (o.requestId !== null) line.requestId = o.requestId ?? 'req_1';
  if (o.agentId !== undefined) line.agentId = o.agentId;
  return `${JSON.stringify(line)}\n`;
}

export function user(text: string, sessionId = 'sess-1'): string {
  return `${JSON.stringify({ parentUuid: null, isSidechain: false, userType: 'external', cwd: '/home/me/proj', sessionId, type: 'user', message: { role: 'user', content: text }, uuid: `u-${Math.random()}`, timestamp: '2025-06-01T09:59:59.000Z' })}\n`;
}

export function toolResult(content: string, sessionId = 'sess-1'): string {
  return `${JSON.stringify({
    parentUuid: null,
    isSidechain: false,
    cwd: '/home/me/proj',
    sessionId,
    type: 'user',
    message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content }] },
    // A Task result carries the subagent's own usage: not a response of this session.
    toolUseResult: { content, usage: { input_tokens: 999, output_tokens: 999 } },
    uuid: `u-${Math.random()}`,
    timestamp: '2025-06-01T10:00:01.000Z',
  })}\n`;
}
