import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ingestTranscripts, type TranscriptsReport } from '../../../src/puller/transcripts/index.js';
import type { WorkDb } from '../../../src/puller/work-db.js';
import { openWorkDb } from '../../../src/puller/work-schema.js';
import { homePaths } from '../../../src/shared/paths.js';
import { tempHome, type TempHome } from '../temp-home.js';

/**
 * A temp home with a real working database and a Claude Code `projects` directory holding one
 * project, for tests of the transcripts source in process (test/unit/transcripts-source.test.ts)
 * and at scale (test/transcripts-scale.test.ts).
 */
export interface TranscriptsRig {
  home: TempHome;
  projects: string;
  /** Closed by close(): a test that closes it to read the file reopens it here. */
  db: WorkDb;
  /** A transcript's path in the one project. */
  file(name: string): string;
  /** One ingest of `projects`, as a tick does. */
  ingest(extra?: Partial<Parameters<typeof ingestTranscripts>[1]>): Promise<TranscriptsReport>;
  close(): Promise<void>;
}

export async function openTranscriptsRig(): Promise<TranscriptsRig> {
  const home = await tempHome('lattice-transcripts-');
  const projects = join(home.dir, 'claude', 'projects');
  mkdirSync(join(projects, '-home-me-proj'), { recursive: true });
  const rig: TranscriptsRig = {
    home,
    projects,
    db: await openWorkDb(homePaths(home.dir).workDb, home.dir),
    file: (name) => join(projects, '-home-me-proj', name),
    ingest: (extra = {}) => ingestTranscripts(rig.db, { directories: [projects], ...extra }),
    close: async () => {
      rig.db.close();
      await home.cleanup();
    },
  };
  return rig;
}
