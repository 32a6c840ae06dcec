/** How numbers, money, times and calendar days are shown, in the reader's locale. */

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const usd = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });

export const fmtInt = (n: number | null): string => (n === null ? '—' : integer.format(n));
export const fmtCompact = (n: number | null): string => (n === null ? '—' : compact.format(n));
export const fmtPercent = (n: number | null): string => (n === null ? '—' : percent.format(n));
export function fmtUsd(n: number | null): string {
  if (n === null) return '—';
  if (n > 0 && n < 0.01) return '< $0.01';
  return usd.format(n);
}

/** "3 min ago", "in 2 h": coarse on purpose; the exact instant is in the element's title. */
export function relative(iso: string | null, now = Date.now()): string {
  if (iso === null) return 'never';
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(seconds);
  const [n, unit] =
    abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min'] : abs < 86400 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd'];
  return seconds <= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

export function seconds(s: number | null): string {
  if (s === null) return '—';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

const PARTS = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' } as const;

/** A formatter for a zone; UTC when this browser does not know the zone (an older ICU than the server's). */
function formatterIn(timeZone: string | null): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat('en-CA', { ...PARTS, timeZone: timeZone ?? undefined });
  } catch {
    return new Intl.DateTimeFormat('en-CA', { ...PARTS, timeZone: 'UTC' });
  }
}

/** An instant shown in the data's zone, e.g. "2026-11-29 12:04:05". */
export function localTime(iso: string | null, timeZone: string | null): string {
  if (iso === null) return '—';
  const parts = formatterIn(timeZone).formatToParts(new Date(iso));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

/** Today's date (YYYY-MM-DD) in a zone: the views' days are local to the puller's zone, not the browser's. */
export function todayIn(timeZone: string | null, now = new Date()): string {
  return localTime(now.toISOString(), timeZone).slice(0, 10);
}

/** Calendar arithmetic on YYYY-MM-DD (as UTC dates, where every day has 24 hours). */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The Monday of the ISO week a day is in (usage_weekly's key). */
export function mondayOf(day: string): string {
  const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday 0
  return addDays(day, -weekday);
}

export const monthOf = (day: string): string => `${day.slice(0, 7)}-01`;
