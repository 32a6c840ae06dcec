/**
 * JSON text as DuckDB's `to_json` renders a row, parsed for a JSON client.
 *
 * - Integers beyond 2^53 (BIGINT, HUGEINT, UBIGINT) come back as strings of their exact digits:
 *   DuckDB writes them as bare numbers and `JSON.parse` would round them (9007199254740993 became
 *   9007199254740992), and Node 20 has no source-text reviver to catch that. Only integer tokens
 *   outside string literals are touched; DuckDB writes every DOUBLE with a `.` or an exponent, so
 *   they stay numbers. The rewrite runs only when the text has a run of 16 digits, so ordinary
 *   rows pay one regex test.
 * - The bare `NaN`, `Infinity` and `-Infinity` DuckDB writes for such doubles become null.
 */

const LONG_DIGIT_RUN = /\d{16}/;
/** A string literal (kept as is) or a number token. */
const STRING_OR_NUMBER = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
const STRING_OR_NON_FINITE = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;

function quoteUnsafeIntegers(text: string): string {
  return text.replace(STRING_OR_NUMBER, (token) => {
    if (token.startsWith('"') || /[.eE]/.test(token) || Number.isSafeInteger(Number(token))) return token;
    return `"${token}"`;
  });
}

export function parseDuckJson(text: string): unknown {
  const exact = LONG_DIGIT_RUN.test(text) ? quoteUnsafeIntegers(text) : text;
  try {
    return JSON.parse(exact);
  } catch {
    return JSON.parse(exact.replace(STRING_OR_NON_FINITE, (m) => (m.startsWith('"') ? m : 'null')));
  }
}
