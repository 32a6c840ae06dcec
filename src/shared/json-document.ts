import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/**
 * One of the small JSON files a daemon writes for the other (status.json, metrics.json), read and
 * validated with its schema; null when it does not exist yet. A file that is not what `what`
 * says throws, naming the file and every field that is wrong.
 */
export async function readJsonDocument<T extends z.ZodType>(path: string, schema: T, what: string): Promise<z.infer<T> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path} is not ${what}: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  return parsed.data;
}
