import { describe, expect, it } from 'vitest';
import { ErrorCodeSchema } from '../../src/reads/contract/schemas.js';
import { codeOfStatus, ERROR_CODE_NAMES, methodNotAllowed, statusOf } from '../../src/reads/contract/error-codes.js';
import { BadParameterError, ReadsError, UiNotBuiltError } from '../../src/reads/contract/errors.js';
import {
  ERROR_CODE_LIST,
  ERRORS,
  errorLine,
  EXIT,
  exitStatusOf,
  holesOf,
  HTTP_ERROR_CODES,
  isErrorCode,
  messageOf,
  specOf,
  type ErrorCodeName,
} from '../../src/shared/error-registry.js';
import { ConfigError, errorCodeOf, LatticeError, PullerLockedError } from '../../src/shared/errors.js';
import { FATAL_EXIT_CODE, FATAL_PREFIX, fatalSentence } from '../../src/puller/fatal-errors.js';
import { PayloadShapeError } from '../../src/puller/payload-splitter.js';

/** A value for each hole of a code's template, named after the hole. */
function sampleParts(code: ErrorCodeName): Record<string, string> {
  return Object.fromEntries(holesOf(specOf(code).message).map((h) => [h, `<${h}>`]));
}

describe('the error registry', () => {
  it('has unique snake_case codes, each with a meaning and a message template', () => {
    expect(ERROR_CODE_LIST.length).toBe(Object.keys(ERRORS).length);
    expect(new Set(ERROR_CODE_LIST).size).toBe(ERROR_CODE_LIST.length);
    for (const code of ERROR_CODE_LIST) {
      expect(code, code).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
      expect(specOf(code).meaning.length, code).toBeGreaterThan(10);
      expect(specOf(code).message.length, code).toBeGreaterThan(0);
    }
    expect(isErrorCode('payload-shape')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('gives every HTTP code a 4xx or 5xx status (and its other statuses too)', () => {
    for (const code of HTTP_ERROR_CODES) {
      const { status, also = [] } = specOf(code);
      for (const s of [status ?? 0, ...also]) {
        expect(s, code).toBeGreaterThanOrEqual(400);
        expect(s, code).toBeLessThan(600);
      }
    }
  });

  it('gives every code an exit status of the few the CLI uses: 2 for a bad setting, 75 for a fatal storage error, 1 otherwise', () => {
    const allowed = new Set<number>(Object.values(EXIT));
    for (const code of ERROR_CODE_LIST) {
      const exit = exitStatusOf(code);
      expect(allowed.has(exit), `${code}: ${exit}`).toBe(true);
      expect(exit, code).toBeGreaterThan(0);
      expect(exit, code).toBeLessThan(126); // 126 and up mean "not executable", "not found", signals
    }
    expect(exitStatusOf('config')).toBe(2);
    expect(exitStatusOf('fatal_storage')).toBe(75);
    expect(FATAL_EXIT_CODE).toBe(75);
    expect(exitStatusOf('locked')).toBe(1);
    expect(exitStatusOf('internal')).toBe(1);
    expect(new ConfigError('x').exitStatus).toBe(2);
  });

  it('renders every template with all its holes filled, once, and leaves braces in a part alone', () => {
    for (const code of ERROR_CODE_LIST) {
      const parts = sampleParts(code);
      const text = messageOf(code, parts as never);
      expect(text, code).not.toMatch(/\{\w+\}/);
      for (const hole of Object.keys(parts)) expect(text, code).toContain(`<${hole}>`);
    }
    expect(messageOf('query_refused', { reason: 'a {reason} in braces' })).toBe('query refused: a {reason} in braces');
    expect(messageOf('timeout', { ms: 5000, how: 'was stopped' })).toBe('the query did not finish within 5000 ms and was stopped');
    expect(messageOf('interrupted', {})).toBe('interrupted by shutdown');
  });

  it('is what the read API enumerates: the OpenAPI enum is exactly the codes with an HTTP status', () => {
    const withStatus = ERROR_CODE_LIST.filter((c) => specOf(c).status !== undefined);
    expect(ERROR_CODE_NAMES).toEqual(withStatus);
    expect(HTTP_ERROR_CODES).toEqual(withStatus);
    expect(ErrorCodeSchema.options).toEqual(withStatus);
    // The query tool's and the puller's codes never reach an HTTP body.
    for (const code of ['query_refused', 'config', 'locked', 'upstream', 'fatal_storage'] as const) expect(ErrorCodeSchema.options).not.toContain(code);
  });

  it('maps statuses both ways as before', () => {
    expect(statusOf('bad_parameter')).toBe(400);
    expect(statusOf('unknown_view')).toBe(404);
    expect(statusOf('busy')).toBe(503);
    expect(codeOfStatus(404)).toBe('not_found');
    expect(codeOfStatus(405)).toBe('method_not_allowed');
    expect(codeOfStatus(431)).toBe('bad_request');
    expect(codeOfStatus(417)).toBe('bad_request');
    expect(codeOfStatus(413)).toBe('bad_request');
    expect(codeOfStatus(502)).toBe('internal');
    expect(methodNotAllowed('PUT').body.error).toEqual({
      code: 'method_not_allowed',
      message: 'method PUT is not allowed: the read API is read-only (GET and HEAD; POST at /mcp)',
    });
  });

  it('gives the error classes their registered code, status and message', () => {
    const bad = new BadParameterError('limit', 'must be an integer');
    expect([bad.code, bad.status, bad.message, bad.parameter]).toEqual(['bad_parameter', 400, 'limit: must be an integer', 'limit']);
    const ui = new UiNotBuiltError('/x/dist/web', new Error('ENOENT'));
    expect(ui).toBeInstanceOf(ReadsError);
    expect([ui.code, ui.status, ui.message]).toEqual(['ui_not_built', 503, 'the web UI is not built (/x/dist/web: ENOENT); run npm run build']);
    expect(new PayloadShapeError('no sessions array').code).toBe('payload_shape');
    const locked = new PullerLockedError('another puller (PID 12) is running', 12, 'stop it');
    expect([locked.code, locked.message]).toEqual(['locked', 'another puller (PID 12) is running; stop it']);
    expect(errorCodeOf(new Error('boom'))).toBe('internal');
    expect(errorCodeOf(new Error('boom'), 'tick_failed')).toBe('tick_failed');
    expect(errorCodeOf(new LatticeError('staging', 'x'))).toBe('staging');
  });

  it("starts a fatal storage error's sentence with the prefix a restarted puller recognizes", () => {
    const sentence = fatalSentence('disk-full', '/home/h', null, new Error('No space left on device'));
    expect(sentence.startsWith(FATAL_PREFIX)).toBe(true);
    expect(FATAL_PREFIX).toBe('fatal storage error: ');
    expect(sentence).toBe('fatal storage error: no space left on device at /home/h; the puller exits to be restarted: No space left on device');
  });

  it('prints error[code]: message', () => {
    expect(errorLine('config', 'SESSION_LATTICE_PORT="x" is not valid')).toBe('error[config]: SESSION_LATTICE_PORT="x" is not valid');
  });
});
