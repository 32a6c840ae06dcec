/**
 * The least body upstream must deliver per window, where the window is the upstream timeout
 * (SESSION_LATTICE_UPSTREAM_TIMEOUT_SECONDS, 60 s by default): about 1 KiB/s at the default.
 *
 * The body-idle timeout alone restarts on every byte, so an upstream that drips one byte a second
 * would hold a tick open for days; this rule ends it after one window. Far below anything real: a
 * 300 MB payload over loopback arrives at hundreds of MB/s, and even a disk writing 1 MB/s (the
 * download waits on it) clears a 60 s window a thousand times over.
 */
export const MIN_BODY_BYTES_PER_WINDOW = 64 * 1024;

interface PaceOptions {
  windowMs: number;
  minBytes: number;
  /** Body bytes received so far. */
  received: () => number;
  /** Called once, when a whole window brought less than `minBytes`; the watch has stopped by then. */
  onTooSlow: (bytesInWindow: number) => void;
}

/**
 * Checks at the end of every window that it brought at least `minBytes`. Windows are fixed, not
 * sliding: a body is judged on whole windows only, so one that ends part-way through a window
 * (and is stopped then) is never judged on the tail. Returns the stop function.
 */
export function watchPace(opts: PaceOptions): () => void {
  let atLastCheck = opts.received();
  const timer = setInterval(() => {
    const now = opts.received();
    const inWindow = now - atLastCheck;
    atLastCheck = now;
    if (inWindow < opts.minBytes) {
      clearInterval(timer);
      opts.onTooSlow(inWindow);
    }
  }, opts.windowMs);
  return () => clearInterval(timer);
}
