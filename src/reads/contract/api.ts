/**
 * The package's consumer entry point: `import type { ... } from 'session-lattice/api'` (package.json
 * `exports`). The types of the read API (src/reads/contract/api-types.ts), the row type of every view
 * (src/reads/contract/view-rows.generated.ts, generated from the catalog) and the puller status `/healthz` reports.
 *
 * Types only, re-exported with `export type` so this compiles to an empty module: importing it
 * runs nothing and pulls in no runtime dependency.
 */
import type { ViewRowsResponse } from './api-types.js';
import type { ViewName, ViewRows } from './view-rows.generated.js';

export type * from './api-types.js';
export type * from './view-rows.generated.js';
export type { HeldPayload, PullerStatus } from '../../shared/status.js';

/**
 * `GET /views/{name}` (JSON) for one view by name, with its rows typed:
 * `ViewRowsResponseOf<'tool_sessions'>['rows'][0].tool_name` is a string.
 */
export type ViewRowsResponseOf<N extends ViewName> = Omit<ViewRowsResponse, 'view' | 'rows'> & {
  view: N;
  rows: ViewRows[N][];
};
