/**
 * Summaries of measured samples. An empty list is a measurement that did not happen: it throws,
 * so that a broken run fails instead of recording NaN or -Infinity as a result.
 */

function nonEmpty(values: readonly number[], what: string): number[] {
  if (values.length === 0) throw new Error(`no samples of ${what}: the measurement did not happen`);
  return [...values].sort((a, b) => a - b);
}

/** The p-th percentile (nearest rank), p in 0..100. */
export function percentile(values: readonly number[], p: number, what = 'the measurement'): number {
  const sorted = nonEmpty(values, what);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(values: readonly number[], what = 'the measurement'): number {
  const s = nonEmpty(values, what);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function max(values: readonly number[], what = 'the measurement'): number {
  return nonEmpty(values, what).at(-1)!;
}

export function min(values: readonly number[], what = 'the measurement'): number {
  return nonEmpty(values, what)[0]!;
}
