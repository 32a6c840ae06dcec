import type { Generation } from './generation.js';

/**
 * What the read surfaces (the routes, the rows responder, MCP, /metrics) need of the generations:
 * a reference on the one being served, a look at it without one, and word when it changes.
 * GenerationManager (generations.ts) is the one implementation; the route tests use a fake.
 */

export type SwitchListener = (current: Generation, previous: Generation | null) => void;

export interface GenerationSource {
  /**
   * A reference on the generation being served; give it back with `generation.release()`.
   * Throws NoSnapshotError before the first, SnapshotUnavailableError while the published file
   * cannot be opened.
   */
  acquire(): Generation;
  /** The generation being served, without a reference (null before the first): for reporting only. */
  peek(): Generation | null;
  /** Why the published file is not being served although it exists (it could not be opened); else null. */
  readonly openError: string | null;
  /** Called once a new generation is being served, before the previous one is retired. */
  onSwitch(listener: SwitchListener): void;
  /**
   * Resolves once this source has looked at the published file again, when `generation` is newer
   * than the one it serves (a query worker, which stats the file before each query, saw it first).
   */
  catchUp(generation: number): Promise<void>;
}
