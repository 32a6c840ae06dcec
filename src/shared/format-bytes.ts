/**
 * A byte count for a person to read, in binary units (memory settings are given and measured in
 * them, and DuckDB reports memory_limit in them): the largest unit that leaves a number of at
 * least 1, with one decimal below 100 (none when it is .0) and none from 100. `512 B`, `3.2 MiB`,
 * `64 MiB`, `1.5 GiB`, `126 GiB`.
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  const rounded = (v: number) => (Math.abs(v) < 100 ? Number(v.toFixed(1)) : Math.round(v));
  // On the rounded value: 1023.96 KiB is `1 MiB`, not `1024 KiB`.
  while (Math.abs(rounded(value)) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${rounded(value)} ${units[unit]}`;
}
