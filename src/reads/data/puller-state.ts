import { homeDisk, type HomeDisk } from '../../shared/disk-space.js';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { homePaths } from '../../shared/paths.js';
import { readPullerStatus, type PullerStatus } from '../../shared/status.js';
import { WatchCoalesce } from '../../shared/watch-coalesce.js';
import { basename } from 'node:path';

/**
 * The puller's side of the health verdict, as this process last read it: status.json and the
 * home's disk. /healthz and /metrics read it afresh (`read()`); an error answer uses the copy kept
 * current by a watch on the puller's directory (`last()`), so that answering an error does no I/O.
 */

export interface PullerState {
  /** status.json; null when no puller has run on this home, or when it cannot be read (statusError). */
  status: PullerStatus | null;
  statusError: string | null;
  /** The home's filesystem; null when it could not be asked. */
  disk: HomeDisk | null;
}

export interface PullerStateSource {
  /** The state as last read, without reading anything. */
  last(): PullerState;
  /** Reads it now (one read shared with any already under way) and returns it. */
  read(): Promise<PullerState>;
}

export interface PullerStateWatchOptions {
  home: string;
  logger: Logger;
  /** How often it is read besides on a change of status.json (the disk's free space changes silently). */
  pollMs?: number;
}

export class PullerStateWatch implements PullerStateSource {
  private state: PullerState = { status: null, statusError: null, disk: null };
  private readonly watch: WatchCoalesce;

  constructor(opts: PullerStateWatchOptions) {
    const paths = homePaths(opts.home);
    this.watch = new WatchCoalesce({
      dir: paths.pullerDir,
      names: [basename(paths.status)],
      pollMs: opts.pollMs ?? 1_000,
      run: async () => {
        const [status, disk] = await Promise.all([statusOf(paths.status), homeDisk(paths.home, paths.published)]);
        this.state = { ...status, disk };
      },
      onError: (err) => opts.logger.warn({ err: errorMessage(err) }, "cannot read the puller's state"),
    });
  }

  /** Reads it once, then keeps it current. */
  async start(): Promise<void> {
    await this.watch.trigger();
    this.watch.start();
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }

  last(): PullerState {
    return this.state;
  }

  async read(): Promise<PullerState> {
    await this.watch.trigger();
    return this.state;
  }
}

async function statusOf(path: string): Promise<Pick<PullerState, 'status' | 'statusError'>> {
  try {
    return { status: await readPullerStatus(path), statusError: null };
  } catch (err) {
    return { status: null, statusError: errorMessage(err) };
  }
}
