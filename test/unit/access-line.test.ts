import { describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { accessLog, type AccessEntry } from '../../src/reads/http/access-log.js';

/**
 * The access line, made cheaper for issue 15 (bench/metrics.ts): built from a template, it must be
 * the line pino writes. (The daemons' batched stdout is checked in a child: test/log-lines.test.ts.)
 */

function capture(options: pino.LoggerOptions = {}): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ name: 'session-lattice-reads', level: 'info', base: { pid: 4242 }, ...options }, { write: (l: string) => void lines.push(l) });
  return { logger, lines };
}

const ENTRIES: AccessEntry[] = [
  {
    req_id: 'b59032b1-8d17-4d11-b3f0-35c31a8f5b5e',
    method: 'GET',
    path: '/views/tool_sessions?limit=3&filter%5Bday%5D=x',
    status: 200,
    ms: 0.31,
    bytes: 2345,
    generation: 7,
    cache: 'hit',
    aborted: false,
  },
  {
    req_id: 'id "quoted" \\ and \u00e9',
    method: undefined,
    path: '/x?q=\n\u2028"\ud800\x7f\x1f',
    status: 404,
    ms: 12,
    bytes: 0,
    generation: null,
    cache: null,
    aborted: false,
  },
  { req_id: 'r', method: 'PROPFIND', path: '/', status: 405, ms: Infinity, bytes: NaN, generation: 1, cache: 'miss', aborted: true },
];

/** A line without its time, which the two writers take a few microseconds apart. */
const timeless = (line: string) => line.replace(/,"time":\d+/, '');

describe('the access line', () => {
  it('is the line pino writes for the same entry, byte for byte but the time', () => {
    for (const entry of ENTRIES) {
      const direct = capture();
      const viaPino = capture();
      accessLog(direct.logger)(entry);
      // What the guard logged before: `aborted` only when true.
      const { aborted, ...rest } = entry;
      viaPino.logger.info(aborted ? entry : rest, 'request');
      expect(direct.lines).toHaveLength(1);
      expect(timeless(direct.lines[0]!)).toBe(timeless(viaPino.lines[0]!));
      expect(JSON.parse(direct.lines[0]!)).toMatchObject({ level: 30, pid: 4242, name: 'session-lattice-reads', msg: 'request' });
    }
  });

  it("carries a child logger's bindings, and another time function's output", () => {
    const parent = capture({ timestamp: pino.stdTimeFunctions.isoTime });
    const child = parent.logger.child({ component: 'http' });
    const { aborted: _, ...first } = ENTRIES[0]!;
    accessLog(child)(ENTRIES[0]!);
    child.info(first, 'request');
    const [mine, theirs] = parent.lines.map((l) => l.replace(/,"time":"[^"]+"/, ''));
    expect(mine).toBe(theirs);
    expect(JSON.parse(parent.lines[0]!)).toMatchObject({ component: 'http', time: expect.stringMatching(/^\d{4}-/) });
  });

  it('falls back to logger.info for a logger the template cannot reproduce (a mixin, a formatter, another message key)', () => {
    for (const options of [{ mixin: () => ({ extra: 1 }) }, { formatters: { level: (label: string) => ({ level: label }) } }, { messageKey: 'message' }]) {
      const direct = capture(options);
      const viaPino = capture(options);
      const { aborted: _, ...first } = ENTRIES[0]!;
      accessLog(direct.logger)(ENTRIES[0]!);
      viaPino.logger.info(first, 'request');
      expect(timeless(direct.lines[0]!)).toBe(timeless(viaPino.lines[0]!));
    }
  });
});
