import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A few transcript lines in Claude Code's format (one JSON object per line, under
 * `<projects>/<project>/<session>.jsonl`), written by hand for tests that need a small real tree:
 * a user prompt, an assistant response written as several lines (thinking, text, tool_use) that
 * repeat its message.id, requestId and usage, and the user's tool_result. Every text field can
 * carry a marker, so a test can prove none of it travels further than the file.
 */

export interface Texts {
  prompt: string;
  thinking: string;
  answer: string;
  toolInput: string;
  toolResult: string;
}

let counter = 0;

function uuid(): string {
  counter++;
  return `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
}

export function sessionLines(opts: { sessionId: string; cwd: string; at: Date; texts: Texts; responses?: number }): string[] {
  const { sessionId, cwd, texts } = opts;
  const base = { isSidechain: false, userType: 'external', cwd, sessionId, version: '1.0.51', gitBranch: 'main' };
  const lines: object[] = [];
  let t = opts.at.getTime();
  const stamp = () => new Date((t += 1000)).toISOString();
  for (let r = 0; r < (opts.responses ?? 1); r++) {
    lines.push({ ...base, parentUuid: null, type: 'user', message: { role: 'user', content: texts.prompt }, uuid: uuid(), timestamp: stamp() });
    const id = `msg_01${sessionId.slice(0, 8)}${r}`;
    const requestId = `req_01${sessionId.slice(0, 8)}${r}`;
    const usage = {
      input_tokens: 4 + r,
      cache_creation_input_tokens: 1000,
      cache_read_input_tokens: 2000,
      output_tokens: 120,
      service_tier: 'standard',
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 0 },
    };
    const blocks = [
      { type: 'thinking', thinking: texts.thinking, signature: 'c2lnbmF0dXJl' },
      { type: 'text', text: texts.answer },
      { type: 'tool_use', id: `toolu_01${r}`, name: 'Bash', input: { command: texts.toolInput, description: texts.toolInput } },
    ];
    for (const block of blocks) {
      lines.push({
        ...base,
        parentUuid: null,
        type: 'assistant',
        message: { id, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [block], stop_reason: null, stop_sequence: null, usage },
        requestId,
        uuid: uuid(),
        timestamp: stamp(),
      });
    }
    lines.push({
      ...base,
      parentUuid: null,
      type: 'user',
      message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_01${r}`, content: texts.toolResult, is_error: false }] },
      toolUseResult: { stdout: texts.toolResult, stderr: '', interrupted: false },
      uuid: uuid(),
      timestamp: stamp(),
    });
  }
  return lines.map((l) => JSON.stringify(l));
}

export async function writeTranscript(path: string, lines: string[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${lines.join('\n')}\n`);
}
