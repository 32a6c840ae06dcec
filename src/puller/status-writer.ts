import type { PullerStatus } from '../shared/status.js';
import { AtomicJsonFile } from './atomic-json.js';

/**
 * Owns status.json: every change is written to a temp file and renamed over it, so a reader never
 * sees half a document. Writes are serialized; a later state always wins.
 */
export class StatusWriter {
  private readonly file: AtomicJsonFile;

  constructor(
    path: string,
    public status: PullerStatus,
    onError: (err: unknown) => void,
  ) {
    this.file = new AtomicJsonFile(path, onError);
  }

  update(patch: Partial<PullerStatus>): Promise<void> {
    this.status = { ...this.status, ...patch };
    return this.file.write(this.status);
  }
}

export function initialStatus(version: string, refreshIntervalSeconds: number, startedAt = new Date()): PullerStatus {
  return {
    pid: process.pid,
    version,
    started_at: startedAt.toISOString(),
    refresh_interval_seconds: refreshIntervalSeconds,
    state: 'starting',
    last_tick_started_at: null,
    last_tick_finished_at: null,
    last_tick_outcome: null,
    last_success_at: null,
    last_error: null,
    last_error_code: null,
    last_error_at: null,
    consecutive_failures: 0,
    next_tick_due_at: null,
    generation: null,
    scan_version: null,
    rejected_rows: null,
    view_errors: {},
    held_payload: null,
    repo_recall: null,
    transcripts: null,
  };
}
