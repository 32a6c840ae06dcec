/**
 * What the transcripts source reports for one tick: the contract between the source
 * (src/puller/transcripts/) and the tick, status.json, events and `status`.
 */

/** One configured projects directory, as this tick found it. */
export interface TranscriptDirectory {
  path: string;
  /** false when it does not exist or cannot be read (a warning, never a failed tick). */
  readable: boolean;
  /** `*.jsonl` files under it (recursively). */
  files: number;
}

/** Lines of one file skipped this tick. */
export interface SkippedLines {
  file: string;
  /** not JSON, or a usage line missing what a response needs (sessionId, timestamp, usage), or a count that cannot be true */
  malformed: number;
  /** longer than the line limit */
  oversized: number;
}

export interface TranscriptsReport {
  /** false when the source is off (`SESSION_LATTICE_TRANSCRIPTS=off`). */
  enabled: boolean;
  directories: TranscriptDirectory[];
  /** Transcript files known (all directories). */
  files: number;
  /** Files read this tick (new, appended, truncated or replaced); unchanged files are not opened. */
  filesRead: number;
  bytesRead: number;
  /** Responses in base.messages after the tick. */
  messages: number;
  /** Responses new this tick. */
  added: number;
  /** Responses whose kept line changed this tick (a later line with more output_tokens). */
  updated: number;
  skipped: SkippedLines[];
  /** Unreadable files or directories, symlink loops, files that vanished mid-read. */
  warnings: string[];
  /** base.messages changed (so views are due and a generation is published). */
  changed: boolean;
}
