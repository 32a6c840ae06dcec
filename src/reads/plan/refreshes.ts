import { REFRESH_LOG_LIMIT } from '../../shared/snapshot.js';
import { BadParameterError } from '../errors.js';

/**
 * The parameters of the refresh history (GET /refreshes), transport-independent like the
 * planner's: the view name is checked against the served generation by the service.
 */

export const DEFAULT_REFRESHES_LIMIT = 100;
/** The puller keeps no more than this, so a larger limit could never return more. */
export const MAX_REFRESHES_LIMIT = REFRESH_LOG_LIMIT;

export interface RefreshesParams {
  view?: string;
  limit?: number | string;
}

/** `limit` as a validated integer 1..MAX_REFRESHES_LIMIT. Throws BadParameterError naming `limit`. */
export function refreshesLimit(raw: number | string | undefined): number {
  if (raw === undefined) return DEFAULT_REFRESHES_LIMIT;
  const text = typeof raw === 'number' ? String(raw) : raw.trim();
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_REFRESHES_LIMIT)) {
    const shown = typeof raw === 'string' && raw.length > 40 ? `${raw.slice(0, 40)}...` : raw;
    throw new BadParameterError('limit', `expected an integer from 1 to ${MAX_REFRESHES_LIMIT}, got ${JSON.stringify(shown)}`);
  }
  return n;
}
