import type { HealthResponse, PullerStatusReport } from 'session-lattice/api';
import { append, h } from './dom.js';
import { fmtInt, localTime, relative, seconds } from './format.js';

/** The bar under the header on every page: how fresh the data is and whether the puller keeps it so. */

function when(iso: string | null, timeZone: string | null): HTMLElement {
  return h('time', { datetime: iso ?? '', title: iso ? `${localTime(iso, timeZone)} (${timeZone ?? 'local'})` : null }, relative(iso));
}

/** What a finished tick did, in words (status.json's last_tick_outcome). */
export const TICK_OUTCOME: Record<NonNullable<PullerStatusReport['last_tick_outcome']>, string> = {
  published: 'published a new generation',
  unchanged: 'found repo-recall unchanged',
  held: 'held back what repo-recall sent',
  failed: 'failed',
};

/** The puller in one phrase: "running, idle; last tick published 2 min ago; next in 3 min". */
export function pullerPhrase(p: PullerStatusReport | null, timeZone: string | null): Array<Node | string> {
  if (p === null) return ['no puller has run on this home'];
  if (!p.running) return [`not running (pid ${p.pid}${p.state === 'stopped' ? ', stopped' : ', gone'})`];
  const parts: Array<Node | string> = [`running (pid ${p.pid}), ${p.state}`];
  if (p.last_tick_finished_at) parts.push('; last tick ', TICK_OUTCOME[p.last_tick_outcome ?? 'published'], ' ', when(p.last_tick_finished_at, timeZone));
  if (p.next_tick_due_at && p.state === 'idle') parts.push('; next ', when(p.next_tick_due_at, timeZone));
  return parts;
}

const VERDICT: Record<HealthResponse['status'], string> = { ok: 'Healthy', degraded: 'Degraded', failing: 'Failing', starting: 'No data yet' };
const BANNER: Record<Exclude<HealthResponse['status'], 'ok'>, { tone: string; title: string }> = {
  starting: { tone: 'banner bad', title: 'No data is published yet.' },
  failing: { tone: 'banner bad', title: 'The data is not being kept current.' },
  degraded: { tone: 'banner warn', title: 'The data may be out of date or incomplete.' },
};

export function renderFreshness(bar: HTMLElement, health: HealthResponse): void {
  bar.replaceChildren();
  const tz = health.timezone;
  append(
    bar,
    h('span', {}, h('strong', { class: health.status === 'ok' ? 'health-ok' : null }, VERDICT[health.status])),
    health.generation !== null ? h('span', {}, 'Generation ', h('strong', {}, String(health.generation)), ', published ', when(health.published_at, tz)) : null,
    health.age_seconds !== null ? h('span', {}, 'Data checked ', h('strong', {}, seconds(health.age_seconds)), ' ago') : null,
    health.session_count !== null ? h('span', {}, h('strong', {}, fmtInt(health.session_count)), ' sessions') : null,
    h('span', {}, 'Days in ', h('strong', {}, tz ?? 'the server’s zone')),
    h('span', {}, 'Puller: ', ...pullerPhrase(health.puller, tz)),
  );
  // The banner is an alert: replaced only when what it says changes, or a screen reader would read
  // it out again at every health check.
  const key = health.status === 'ok' ? '' : `${health.status}\n${health.reasons.join('\n')}`;
  const shown = document.getElementById('banner');
  if (shown?.dataset.key === key) return;
  shown?.remove();
  if (key === '') return;
  const { tone, title } = BANNER[health.status as Exclude<HealthResponse['status'], 'ok'>];
  const banner = h(
    'div',
    { id: 'banner', class: tone, role: 'alert', 'data-key': key },
    h('strong', {}, title),
    h('ul', {}, ...health.reasons.map((r) => h('li', {}, r))),
  );
  bar.after(banner);
}
