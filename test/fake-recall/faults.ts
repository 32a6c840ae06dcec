import type { ServerResponse } from 'node:http';
import type { FaultOptions } from './server.js';

/** The Retry-After header a 429 or 503 fault sends: "1" unless the fault says otherwise (null: none). */
export function retryAfterHeader(opts: FaultOptions): Record<string, string> {
  const value = opts.retryAfter === undefined ? '1' : opts.retryAfter;
  return value === null ? {} : { 'Retry-After': value };
}

const FILLER = Buffer.alloc(64 * 1024, 'stack frame of a server that will not stop talking\n');

/**
 * 'endless-error': a 500 whose body never ends (chunked, no Content-Length): one line saying what
 * went wrong, then filler for as long as the client reads. Written at the pace the client takes
 * it, so the fake itself stays small; ends when the client goes away.
 */
export async function serveEndlessError(res: ServerResponse): Promise<void> {
  res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.write('Internal Server Error: the scanner crashed and is dumping its state\n');
  while (!res.destroyed && !res.writableEnded) {
    if (res.write(FILLER)) continue;
    const more = await drained(res);
    if (!more) return;
  }
}

/** Waits until `res` can take more data; false if the response was closed meanwhile. */
export function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = (): void => {
      res.off('close', onClose);
      resolve(true);
    };
    const onClose = (): void => {
      res.off('drain', onDrain);
      resolve(false);
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
