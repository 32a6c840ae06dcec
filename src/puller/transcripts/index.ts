/** The transcripts source: what the tick calls. */
export { resolveTranscriptDirectories } from './directories.js';
export { ingestTranscripts } from './ingest.js';
export type { TranscriptsReport } from './report.js';
