/** Calendar arithmetic in an IANA zone with Intl only (no src/ code: the recomputation is independent). */

const FORMATS = new Map<string, Intl.DateTimeFormat>();

function format(zone: string): Intl.DateTimeFormat {
  let f = FORMATS.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    FORMATS.set(zone, f);
  }
  return f;
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wall(ms: number, zone: string): Wall {
  const parts: Record<string, number> = {};
  for (const p of format(zone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year ?? 0, month: parts.month ?? 0, day: parts.day ?? 0, hour: parts.hour ?? 0, minute: parts.minute ?? 0, second: parts.second ?? 0 };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The local date (YYYY-MM-DD) of an instant in `zone`. */
export function localDay(ms: number, zone: string): string {
  const w = wall(ms, zone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

/** The instant (ms) the local hour of an instant began in `zone`: the instant less its local minutes, seconds and milliseconds. */
export function localHourStart(ms: number, zone: string): number {
  const w = wall(ms, zone);
  return ms - w.minute * 60_000 - w.second * 1000 - (ms % 1000);
}

/** The zone's offset from UTC at an instant, in minutes. */
function offsetMinutes(ms: number, zone: string): number {
  const w = wall(ms, zone);
  return Math.round((Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000) / 60_000);
}

/** The Monday (YYYY-MM-DD) of the ISO week a local date is in. */
export function isoWeekStart(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  const back = (d.getUTCDay() + 6) % 7;
  return new Date(d.getTime() - back * 86_400_000).toISOString().slice(0, 10);
}

export function monthStart(day: string): string {
  return `${day.slice(0, 7)}-01`;
}

/**
 * The instants between two instants where `valueAt` changes: walk hour by hour, then bisect to
 * the change (a local date or a zone offset changes at most once an hour).
 */
function changesOf<T>(fromMs: number, toMs: number, valueAt: (ms: number) => T): number[] {
  const out: number[] = [];
  let prev = valueAt(fromMs);
  for (let t = fromMs + 3_600_000; t <= toMs; t += 3_600_000) {
    const value = valueAt(t);
    if (value !== prev) {
      out.push(bisect(t - 3_600_000, t, (x) => valueAt(x) === value));
      prev = value;
    }
  }
  return out;
}

/** The instants of local midnight in `zone` between two instants. */
export function localMidnights(fromMs: number, toMs: number, zone: string): number[] {
  return changesOf(fromMs, toMs, (ms) => localDay(ms, zone));
}

/** The instants where the zone's offset changes (DST) between two instants. */
export function offsetChanges(fromMs: number, toMs: number, zone: string): number[] {
  return changesOf(fromMs, toMs, (ms) => offsetMinutes(ms, zone));
}

/** The first minute in (lo, hi] where `after` holds (it holds at hi, not at lo). */
function bisect(lo: number, hi: number, after: (ms: number) => boolean): number {
  while (hi - lo > 60_000) {
    const mid = Math.floor((lo + hi) / 2 / 60_000) * 60_000;
    if (mid <= lo) break;
    if (after(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
