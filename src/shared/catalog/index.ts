import { assertUniqueNames, type ViewDefinition } from './define.js';
import { toolSessions } from './tools.js';

export type { ViewDefinition } from './define.js';
export { defineView } from './define.js';

/** Every view session-lattice materializes. Adding a view is adding its definition here. */
export const CATALOG: readonly ViewDefinition[] = [toolSessions];

assertUniqueNames(CATALOG);
