import { settingName } from '../shared/config.js';

/**
 * The shrink guard: upstream is authoritative, but a repo-recall restarting with an empty cache,
 * or on a fresh database, would otherwise empty every reader's views until it rescans. A payload
 * that would drop more than `maxShrinkPercent` of the loaded sessions, or whose scan_version is
 * lower than the loaded one, is held back; it is accepted once the very same payload (by
 * fingerprint) has arrived on `confirmTicks` consecutive ticks, or at once when asked
 * (`pull --accept-shrink`). The first load, with nothing to lose, is never held.
 */

export interface GuardSettings {
  maxShrinkPercent: number;
  confirmTicks: number;
  /** Accept a suspicious payload at once (`pull --accept-shrink`). */
  acceptShrink: boolean;
}

/** What is loaded now. */
export interface LoadedData {
  /** 0 before the first load. */
  baseVersion: number;
  sessions: number;
  scanVersion: number | null;
}

/** What upstream just sent (sessions: the rows that passed validation). */
export interface IncomingPayload {
  fingerprint: string;
  sessions: number;
  scanVersion: number | null;
}

/** The payload held back before this tick, if any. */
export interface PriorHold {
  fingerprint: string;
  seenTicks: number;
}

export type Verdict =
  | { kind: 'accept'; overrode: null }
  /** Suspicious, but accepted: it repeated enough, or the operator said so. */
  | { kind: 'accept'; overrode: { reasons: string[]; by: 'repeated' | 'accept-shrink'; seenTicks: number } }
  | { kind: 'hold'; reasons: string[]; seenTicks: number; confirmTicks: number };

/** Why a payload is suspicious, one sentence each; empty when it is not. */
function suspicions(loaded: LoadedData, incoming: IncomingPayload, maxShrinkPercent: number): string[] {
  if (loaded.baseVersion === 0) return [];
  const reasons: string[] = [];
  if (loaded.scanVersion !== null && incoming.scanVersion !== null && incoming.scanVersion < loaded.scanVersion) {
    reasons.push(`its scan_version ${incoming.scanVersion} is lower than the ${loaded.scanVersion} loaded`);
  }
  const dropped = loaded.sessions - incoming.sessions;
  if (loaded.sessions > 0 && dropped > 0) {
    const percent = (dropped / loaded.sessions) * 100;
    if (percent > maxShrinkPercent) {
      reasons.push(
        `it would drop ${dropped} of the ${loaded.sessions} loaded sessions (${Math.round(percent * 10) / 10}%), ` +
          `more than the ${maxShrinkPercent}% ${settingName('maxShrinkPercent')} allows`,
      );
    }
  }
  return reasons;
}

export function judgePayload(loaded: LoadedData, incoming: IncomingPayload, prior: PriorHold | null, settings: GuardSettings): Verdict {
  const reasons = suspicions(loaded, incoming, settings.maxShrinkPercent);
  if (reasons.length === 0) return { kind: 'accept', overrode: null };
  const seenTicks = prior?.fingerprint === incoming.fingerprint ? prior.seenTicks + 1 : 1;
  if (settings.acceptShrink) return { kind: 'accept', overrode: { reasons, by: 'accept-shrink', seenTicks } };
  if (seenTicks >= settings.confirmTicks) return { kind: 'accept', overrode: { reasons, by: 'repeated', seenTicks } };
  return { kind: 'hold', reasons, seenTicks, confirmTicks: settings.confirmTicks };
}
