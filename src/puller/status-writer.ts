import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PullerStatus } from '../shared/status.js';

/**
 * Owns status.json: every change is written to a temp file and renamed over it, so a reader never
 * sees half a document. Writes are serialized; a later state always wins.
 */
export class StatusWriter {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    public status: PullerStatus,
    private readonly onError: (err: unknown) => void,
  ) {}

  update(patch: Partial<PullerStatus>): Promise<void> {
    this.status = { ...this.status, ...patch };
    const snapshot = JSON.stringify(this.status, null, 2) + '\n';
    this.chain = this.chain.then(() => this.write(snapshot)).catch(this.onError);
    return this.chain;
  }

  private async write(text: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, this.path);
  }
}

export function initialStatus(version: string, refreshIntervalSeconds: number): PullerStatus {
  return {
    pid: process.pid,
    version,
    started_at: new Date().toISOString(),
    refresh_interval_seconds: refreshIntervalSeconds,
    state: 'starting',
    last_tick_started_at: null,
    last_tick_finished_at: null,
    last_tick_outcome: null,
    last_success_at: null,
    last_error: null,
    last_error_at: null,
    consecutive_failures: 0,
    next_tick_due_at: null,
    generation: null,
    scan_version: null,
    rejected_rows: null,
    view_errors: {},
    held_payload: null,
  };
}
