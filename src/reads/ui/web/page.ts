import type { HealthResponse } from 'session-lattice/api';

/** What a page is given to render into; `signal` aborts when the page renders again. */
export interface PageContext {
  main: HTMLElement;
  health: HealthResponse;
  signal: AbortSignal;
  /** Changes the URL (pushState) and renders the page again for it. */
  navigate(url: string): void;
}

/** A page may return how to refresh its data in place (keeping what the reader typed) when a new generation arrives. */
export type Page = (ctx: PageContext) => Promise<void | (() => Promise<void>)>;

/** The UI URL of a view in the table browser, with a query in the read API's own syntax. */
export function browserHref(view: string, query: ReadonlyArray<readonly [string, string]> = []): string {
  const qs = new URLSearchParams(query.map(([k, v]) => [k, v])).toString();
  return `/ui/views/${encodeURIComponent(view)}${qs ? `?${qs}` : ''}`;
}
