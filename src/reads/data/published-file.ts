import { stat } from 'node:fs/promises';

/**
 * The identity of the file now at the published path, for the server's generations and the query
 * workers alike: a new generation is a new file renamed over the path (a new inode), and size and
 * times tell apart an inode number the file system reused. Throws what stat throws (ENOENT:
 * nothing published).
 */
export async function publishedFileId(path: string): Promise<string> {
  const st = await stat(path);
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}
