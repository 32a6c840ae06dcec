/** The transcripts source: what the tick calls. */
export { resolveTranscriptDirectories } from './directories.js';
export { ingestTranscripts, transcriptsOffReport, type IngestOptions } from './ingest.js';
export { TRANSCRIPT_FILES_TABLE } from './file-state.js';
export type { SkippedLines, TranscriptDirectory, TranscriptsReport } from './report.js';
