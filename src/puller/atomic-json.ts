import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A JSON document under the home that other processes read while the puller replaces it
 * (status.json, metrics.json): each version is written to a temp file and renamed over the path,
 * so a reader sees the old document or the new one, never half of one. Writes are serialized in
 * the order they are asked for (they share one temp name), so a later version always wins. A
 * failed write goes to `onError` and is never thrown: these files report on the puller, they are
 * not what it runs on.
 */
export class AtomicJsonFile {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly onError: (err: unknown) => void,
    /** Indented for a file a person reads; 0 for a large one only programs read (metrics.json). */
    private readonly indent = 2,
  ) {}

  /** Serializes `value` now (later changes to it are not written) and writes it after the writes before it. */
  write(value: unknown): Promise<void> {
    const text = `${JSON.stringify(value, null, this.indent)}\n`;
    this.chain = this.chain.then(() => replaceFile(this.path, text)).catch(this.onError);
    return this.chain;
  }
}

async function replaceFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (err) {
    // On a full disk the temp file is created and stays empty: never leave it behind.
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
