/**
 * A parse worker's entry point (parse-pool.ts): reads and parses the transcripts it is handed, one
 * at a time, and posts back each file's new state and its responses as columns, never its text.
 */
import { parentPort } from 'node:worker_threads';
import { scanBuffer } from './line-scanner.js';
import type { ParseResult, ParseTask } from './parse-pool.js';
import { readTranscriptFile } from './read-file.js';

const port = parentPort;
if (!port) throw new Error('parse-worker.js runs as a worker thread (parse-pool.ts)');
const buf = scanBuffer();

// One file at a time (they share `buf`), in the order handed out; several wait here at once so
// that the worker never idles for a round trip to the main thread.
const queue: ParseTask[] = [];
let running = false;

/** Rows gathered before an answer is posted: one message per small file cost more than its parse. */
const BATCH_ROWS = 2048;

async function drain(): Promise<void> {
  running = true;
  let batch: ParseResult[] = [];
  let rows = 0;
  const transfer: ArrayBuffer[] = [];
  for (let task = queue.shift(); task; task = queue.shift()) {
    const read = await readTranscriptFile(task.path, task.known, buf, null);
    batch.push({ index: task.index, read });
    if ('rows' in read) {
      rows += read.rows.count;
      // The typed arrays move, not copied; the strings are cloned (only metadata: ids, model, cwd).
      transfer.push(read.rows.sidechain.buffer, read.rows.numbers.buffer);
    }
    if (rows >= BATCH_ROWS || queue.length === 0) {
      port?.postMessage(batch, transfer.splice(0));
      batch = [];
      rows = 0;
    }
  }
  running = false;
}

port.on('message', (task: ParseTask) => {
  queue.push(task);
  if (!running) void drain();
});
