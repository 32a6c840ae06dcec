import { expect } from 'vitest';

// What the fake's payloads look like from outside: shared by the generator's and the server's tests.

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The payload's three top-level fields, checked; its elements are left to the caller. */
export function parsePayload(text: string): { sessions: unknown[]; generated_at: number; scan_version: number } {
  const p: unknown = JSON.parse(text);
  if (!isRecord(p) || !Array.isArray(p.sessions)) throw new Error('not a payload');
  expect(Object.keys(p)).toEqual(['sessions', 'generated_at', 'scan_version']);
  expect(Number.isInteger(p.generated_at)).toBe(true);
  expect(Number.isInteger(p.scan_version)).toBe(true);
  return { sessions: p.sessions, generated_at: p.generated_at as number, scan_version: p.scan_version as number };
}
