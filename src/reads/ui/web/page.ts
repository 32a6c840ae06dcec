import type { HealthResponse } from 'session-lattice/api';

/** What a page is given to render into; `signal` aborts when the page renders again. */
export interface PageContext {
  main: HTMLElement;
  health: HealthResponse;
  signal: AbortSignal;
  /**
   * Changes the URL (pushState) and renders the page again for it; then focus goes to the element
   * `focus` selects if it is there (a sort header keeps the keyboard's place), else to main.
   */
  navigate(url: string, focus?: string): void;
}

/** How a drawn page follows the server: both optional; without `refresh` a new generation redraws it. */
export interface PageHandle {
  /** A new generation is served: fetch the data again in place (keeping what the reader typed). */
  refresh?(health: HealthResponse): Promise<void>;
  /** Every health check, new generation or not (the status page's sentences about the puller). */
  onHealth?(health: HealthResponse): void;
}

/** `withoutData`: the page can be drawn before any generation is published (from /healthz alone). */
export interface Page {
  (ctx: PageContext): Promise<PageHandle | void>;
  withoutData?: boolean;
}

/** The UI URL of a view in the table browser, with a query in the read API's own syntax. */
export function browserHref(view: string, query: ReadonlyArray<readonly [string, string]> = []): string {
  const qs = new URLSearchParams(query.map(([k, v]) => [k, v])).toString();
  return `/ui/views/${encodeURIComponent(view)}${qs ? `?${qs}` : ''}`;
}
