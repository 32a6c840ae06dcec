import { errorMessage, LatticeError } from '../../shared/errors.js';
import { QueryFailedError, QueryRefusedError } from './errors.js';
import { pathRewriter } from './paths.js';
import { ToWorkerSchema, WorkerSettingsSchema, type ErrorKind, type FromWorker, type QueryRequest } from './protocol.js';
import { runSandboxed } from './sandbox.js';
import { WorkerSnapshot } from './worker-snapshot.js';

/**
 * A query worker: a child process of the reads server that runs the MCP `query` tool's SQL, one
 * statement at a time, on the current generation opened read-only and hardened. It exists so that
 * SQL written by an agent cannot hurt the server: the pool (pool.ts) caps its memory from outside
 * (an address-space rlimit set before this process started, and an RSS watch) and kills it at the
 * query's deadline. Started by spawn.ts, with its settings as the one argument.
 */

const settings = WorkerSettingsSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
const snapshot = new WorkerSnapshot(settings);
const paths = pathRewriter(settings.home);

function send(message: FromWorker): void {
  process.send?.(message);
}

// The server is gone (its end of the channel closed): stop at once, even mid-query. SIGKILL
// rather than exit(): a DuckDB query still running on another thread must not delay it.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, 1000).unref();

/**
 * A truncated result's DuckDB stream was stopped before its end, and holds its executor's buffers
 * (for the query above, hundreds of MB) until its JS finalizer runs, which V8, not seeing that
 * memory, may put off for many queries: held while the worker idles, and added to the next
 * query's. So a collection follows each truncated result (spawn.ts passes --expose-gc). Not after
 * every query: a full collection costs about 6 ms, and a stream read to its end has already
 * released its executor.
 */
const gc: unknown = Reflect.get(globalThis, 'gc');
function collectAfter(answer: FromWorker): void {
  if (answer.type === 'result' && answer.truncated && typeof gc === 'function') gc();
}

function kindOf(err: unknown): ErrorKind {
  if (err instanceof QueryRefusedError) return 'refused';
  if (err instanceof QueryFailedError) return 'failed';
  return 'internal';
}

async function runQuery(req: QueryRequest): Promise<FromWorker> {
  const state = await snapshot.current();
  if (state.kind === 'none') return { type: 'error', id: req.id, kind: 'no_snapshot', message: 'no snapshot yet' };
  if (state.kind === 'unavailable') return { type: 'error', id: req.id, kind: 'unavailable', message: paths.error(state.message) };
  try {
    const rows = await runSandboxed(state.conn, req.sql, req, { rewriteRow: paths.row });
    return { type: 'result', id: req.id, snapshot: state.info, ...rows };
  } catch (err) {
    const message = err instanceof LatticeError ? err.message : `internal error in the query worker: ${errorMessage(err)}`;
    return { type: 'error', id: req.id, kind: kindOf(err), message: paths.error(message) };
  }
}

// One message at a time, in order: a worker holds one generation and runs one query.
let chain: Promise<void> = Promise.resolve();
process.on('message', (raw: unknown) => {
  const parsed = ToWorkerSchema.safeParse(raw);
  if (!parsed.success) {
    process.stderr.write(`query worker: unexpected message: ${parsed.error.message}\n`);
    process.exit(70);
  }
  const msg = parsed.data;
  chain = chain
    .then(async () => {
      if (msg.type === 'sync') await snapshot.current();
      else {
        const answer = await runQuery(msg);
        send(answer);
        collectAfter(answer);
      }
    })
    .catch((err: unknown) => {
      process.stderr.write(`query worker: ${errorMessage(err)}\n`);
    });
});

await snapshot.current();
send({ type: 'ready', snapshot: snapshot.info });
