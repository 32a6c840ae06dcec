import { REFRESH_LOG_LIMIT } from '../../../shared/snapshot.js';
import { parseInteger } from './planner.js';

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
  return parseInteger('limit', raw, DEFAULT_REFRESHES_LIMIT, MAX_REFRESHES_LIMIT, 1);
}
