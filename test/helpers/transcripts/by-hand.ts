import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { assistantLine, toolResultLine, userPromptLine, type AssistantLine, type ContentBlock, type Envelope } from './lines.js';

/**
 * Transcript lines for tests that write a few by hand. lines.ts is the one writer of Claude Code's
 * format; these only fill in the fields a test does not care about. Every text field (prompt,
 * thinking, text, tool_use input, tool_result content and toolUseResult) can carry a marker, so a
 * test can prove none of it travels further than the file.
 */

let counter = 0;

function uuid(): string {
  counter++;
  return `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
}

function envelope(e: { sessionId: string; cwd: string; timestamp: string; version?: string; isSidechain?: boolean; agentId?: string | undefined }): Envelope {
  const out: Envelope = {
    sessionId: e.sessionId,
    cwd: e.cwd,
    version: e.version ?? '2.0.14',
    gitBranch: 'main',
    isSidechain: e.isSidechain ?? false,
    parentUuid: null,
    uuid: uuid(),
    timestamp: e.timestamp,
  };
  if (e.agentId !== undefined) out.agentId = e.agentId;
  return out;
}

// ---------------------------------------------------------------------------------------------
// One line at a time, each with its newline, for the transcripts source's tests.

const SESSION = 'sess-1';
const CWD = '/home/me/proj';

export interface AssistantOptions {
  sessionId?: string;
  /** null: a line of a version that wrote no message.id. */
  id?: string | null;
  /** null: a line of a version that wrote no requestId. */
  requestId?: string | null;
  timestamp?: string;
  model?: string;
  output?: number;
  input?: number;
  cacheRead?: number;
  /** The cache_creation_input_tokens total; with `split`, it must be their sum. */
  cacheCreation?: number;
  /** The 5m/1h breakdown object; without it only the total is written. */
  split?: { m5: number; h1: number } | null;
  agentId?: string;
  sidechain?: boolean;
  cwd?: string;
  /** the content block: text, thinking or a tool_use */
  block?: ContentBlock;
}

export function assistant(o: AssistantOptions = {}): string {
  const split = o.split ?? null;
  const total = o.cacheCreation ?? (split ? split.m5 + split.h1 : 0);
  if (split && split.m5 + split.h1 !== total) throw new Error(`assistant(): cacheCreation ${total} is not split.m5 + split.h1`);
  const line: AssistantLine = {
    model: o.model ?? 'claude-sonnet-4-5-20250929',
    block: o.block ?? { type: 'text', text: 'a reply' },
    usage: {
      input_tokens: o.input ?? 10,
      output_tokens: o.output ?? 5,
      cache_creation_5m: split ? split.m5 : total,
      cache_creation_1h: split ? split.h1 : 0,
      cache_read_input_tokens: o.cacheRead ?? 0,
    },
    breakdown: split !== null,
    stopReason: null,
  };
  if (o.id !== null) line.messageId = o.id ?? 'msg_1';
  if (o.requestId !== null) line.requestId = o.requestId ?? 'req_1';
  const e = envelope({
    sessionId: o.sessionId ?? SESSION,
    cwd: o.cwd ?? CWD,
    timestamp: o.timestamp ?? '2025-06-01T10:00:00.000Z',
    isSidechain: o.sidechain ?? false,
    agentId: o.agentId,
  });
  return `${assistantLine(e, line)}\n`;
}

export function user(text: string, sessionId = SESSION): string {
  return `${userPromptLine(envelope({ sessionId, cwd: CWD, timestamp: '2025-06-01T09:59:59.000Z' }), text)}\n`;
}

/** A Task's result: its toolUseResult carries the subagent's own usage, not a response of this session. */
export function toolResult(content: string, sessionId = SESSION): string {
  const e = envelope({ sessionId, cwd: CWD, timestamp: '2025-06-01T10:00:01.000Z' });
  return `${toolResultLine(e, 'toolu_1', content, { content, usage: { input_tokens: 999, output_tokens: 999 } })}\n`;
}

// ---------------------------------------------------------------------------------------------
// A whole session, for tests that need a small real tree (`<projects>/<project>/<session>.jsonl`).

export interface Texts {
  prompt: string;
  thinking: string;
  answer: string;
  toolInput: string;
  toolResult: string;
}

/**
 * Per response: the user's prompt, the response written as three lines (thinking, text, tool_use)
 * that repeat its message.id, requestId and usage, and the user's tool_result. One second apart.
 */
export function sessionLines(opts: { sessionId: string; cwd: string; at: Date; texts: Texts; responses?: number }): string[] {
  const { sessionId, cwd, texts } = opts;
  let t = opts.at.getTime();
  const next = () => envelope({ sessionId, cwd, version: '1.0.51', timestamp: new Date((t += 1000)).toISOString() });
  const lines: string[] = [];
  for (let r = 0; r < (opts.responses ?? 1); r++) {
    lines.push(userPromptLine(next(), texts.prompt));
    const toolUseId = `toolu_01${r}`;
    const blocks: ContentBlock[] = [
      { type: 'thinking', thinking: texts.thinking, signature: 'c2lnbmF0dXJl' },
      { type: 'text', text: texts.answer },
      { type: 'tool_use', id: toolUseId, name: 'Bash', input: { command: texts.toolInput, description: texts.toolInput } },
    ];
    for (const block of blocks) {
      lines.push(
        assistantLine(next(), {
          messageId: `msg_01${sessionId.slice(0, 8)}${r}`,
          requestId: `req_01${sessionId.slice(0, 8)}${r}`,
          model: 'claude-sonnet-4-5-20250929',
          block,
          usage: { input_tokens: 4 + r, output_tokens: 120, cache_creation_5m: 1000, cache_creation_1h: 0, cache_read_input_tokens: 2000 },
          breakdown: true,
          stopReason: null,
        }),
      );
    }
    lines.push(toolResultLine(next(), toolUseId, texts.toolResult));
  }
  return lines;
}

export async function writeTranscript(path: string, lines: string[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${lines.join('\n')}\n`);
}
