/**
 * A function's answers remembered for the last few hundred distinct inputs, for the per-request
 * work whose inputs repeat (a client sends the same Host, the same URLs, the same few timestamps):
 * bounded by forgetting everything when full, which costs one recomputation per input.
 */
export function memoized<T>(compute: (input: string) => T, max: number): (input: string) => T {
  const seen = new Map<string, T>();
  return (input) => {
    if (seen.has(input)) return seen.get(input) as T;
    if (seen.size >= max) seen.clear();
    const value = compute(input);
    seen.set(input, value);
    return value;
  };
}
