import { expect } from 'vitest';
import { Client, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client';
import { isErrorCode } from '../../src/shared/error-registry.js';

/** The MCP SDK's own client against a reads server's `/mcp`, and the checks every MCP test makes. */

export type Mode = 'legacy' | 'auto';

export async function connect(url: string, mode: Mode = 'legacy'): Promise<Client> {
  const client = new Client({ name: 'lattice-test', version: '1.0.0' }, { versionNegotiation: { mode } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}

export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** The structured result of a successful call; it must equal its JSON text content. */
export function structured<T>(result: CallToolResult): T {
  const text = result.content.find((c) => c.type === 'text');
  if (result.isError) throw new Error(`tool error: ${text && 'text' in text ? text.text : JSON.stringify(result.content)}`);
  expect(text && 'text' in text ? JSON.parse(text.text) : undefined).toEqual(result.structuredContent);
  return result.structuredContent as T;
}

/**
 * The message of a tool error (and a failed expectation when the call did not fail). One of ours
 * carries its registry code in structuredContent, with the same message as the text; the SDK's own
 * (input validation) carries none.
 */
export function errorText(result: CallToolResult): string {
  expect(result.isError, JSON.stringify(result.structuredContent ?? result.content).slice(0, 300)).toBe(true);
  const text = result.content.find((c) => c.type === 'text');
  const message = text && 'text' in text ? text.text : '';
  if (result.structuredContent !== undefined) {
    const { code } = fields(result);
    expect(result.structuredContent).toMatchObject({ code: expect.stringMatching(/^[a-z]+(_[a-z]+)*$/), message });
    expect(isErrorCode(String(code)), String(code)).toBe(true);
  }
  return message;
}

/** A tool error of ours: its code, message and (for bad_parameter) parameter, as structuredContent says. */
export function toolError(result: CallToolResult): { code: string; message: string; parameter?: string } {
  const message = errorText(result);
  expect(result.structuredContent, message).toBeDefined();
  const { code, parameter } = fields(result);
  return parameter === undefined ? { code: String(code), message } : { code: String(code), message, parameter: String(parameter) };
}

function fields(result: CallToolResult): Record<string, unknown> {
  const content: unknown = result.structuredContent;
  return typeof content === 'object' && content !== null ? Object.fromEntries(Object.entries(content)) : {};
}
