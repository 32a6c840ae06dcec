/** Small text-formatting helpers for the operator commands (`status`, `views`). */

/** Seconds as a short human duration: `42 s`, `5 min`, `3 h 12 min`, `2 d 4 h`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** `5 min ago` for a past instant, `in 40 s` for a future one. */
export function relative(seconds: number): string {
  return seconds >= 0 ? `${formatDuration(seconds)} ago` : `in ${formatDuration(-seconds)}`;
}

/** Seconds from an ISO instant to `now` (negative when it is in the future); null for null. */
export function secondsSince(iso: string | null | undefined, now: number): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return null;
  return Math.round((now - t) / 100) / 10;
}

/** `2026-01-01T10:00:00.000Z (5 min ago)`, or `-`. */
export function instant(iso: string | null | undefined, now: number): string {
  const age = secondsSince(iso, now);
  if (!iso || age === null) return '-';
  return `${iso} (${relative(age)})`;
}

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : n.toLocaleString('en-US');
}

/**
 * A plain-text table: a header row, then one row per entry, columns padded to their widest cell.
 * Columns listed in `right` are right-aligned (numbers). When `maxWidth` is given the last column
 * is cut to fit it (with an ellipsis), so a long error does not wrap a terminal's table.
 */
export function table(headers: string[], rows: string[][], opts: { right?: number[]; maxWidth?: number } = {}): string {
  const right = new Set(opts.right ?? []);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const last = headers.length - 1;
  const lines = [headers, ...rows].map((cells) =>
    cells
      .map((cell, i) => {
        if (i === last) return cell;
        return right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd(),
  );
  if (!opts.maxWidth) return lines.join('\n');
  const max = Math.max(opts.maxWidth, 40);
  return lines.map((l) => (l.length > max ? `${l.slice(0, max - 1)}…` : l)).join('\n');
}
