/** The read side: only ever read-only handles on published generations. Imports nothing from src/puller/. */
export { startReadsServer, type ReadsServer, type StartReadsOptions } from './server.js';
export { ReadsService, type ReadsServiceOptions } from './service.js';
export { buildApp, type BuildAppOptions } from './app.js';
export { GenerationManager, Generation, type ViewInfo, type ColumnInfo } from './generations.js';
export { QueryLimiter } from './limiter.js';
export { ResponseCache } from './respond/cache.js';
export * from './errors.js';
export { planRead, DEFAULT_LIMIT, MAX_LIMIT, type ReadViewParams, type ReadPlan } from './plan/planner.js';
export type * from './api-types.js';
