import type { ErrorResponse, HealthResponse, ViewListResponse, ViewName, ViewRowsResponseOf } from 'session-lattice/api';

/** The JSON API, as this page uses it: the same URLs any other consumer calls. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly parameter: string | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function bodyOf(res: Response, url: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(res.status, `${url} answered HTTP ${res.status} with a body that is not JSON`, undefined);
  }
}

/** The API's own error, from its `{"error": {...}}` body. */
function apiError(res: Response, body: unknown, url: string): ApiError {
  const e = (body as Partial<ErrorResponse>).error;
  return new ApiError(res.status, e?.message ?? `${url} answered HTTP ${res.status}`, e?.parameter);
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal });
  const body = await bodyOf(res, url);
  if (!res.ok) throw apiError(res, body, url);
  return body as T;
}

/** /healthz answers 503 with a health body while no snapshot is published: that is a state, not an error. */
export async function getHealth(signal?: AbortSignal): Promise<HealthResponse> {
  const res = await fetch('/healthz', { headers: { accept: 'application/json' }, signal, cache: 'no-store' });
  const body = await bodyOf(res, '/healthz');
  if (res.ok || res.status === 503) {
    if (typeof body === 'object' && body !== null && 'status' in body && 'generation' in body) return body as HealthResponse;
  }
  throw apiError(res, body, '/healthz');
}

export function getCatalog(signal?: AbortSignal): Promise<ViewListResponse> {
  return getJson<ViewListResponse>('/views', signal);
}

export type Query = ReadonlyArray<readonly [string, string]>;

export function rowsUrl(view: string, query: Query, format?: 'csv' | 'ndjson' | 'json'): string {
  const params = new URLSearchParams(query.map(([k, v]) => [k, v]));
  if (format) params.set('format', format);
  const qs = params.toString();
  return `/views/${encodeURIComponent(view)}${qs ? `?${qs}` : ''}`;
}

export function getRows<N extends ViewName>(view: N, query: Query, signal?: AbortSignal): Promise<ViewRowsResponseOf<N>> {
  return getJson<ViewRowsResponseOf<N>>(rowsUrl(view, query), signal);
}
