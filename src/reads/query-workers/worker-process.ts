import type { ChildProcess } from 'node:child_process';
import { FromWorkerSchema, type QueryErrorMessage, type QueryRequest, type QueryResultMessage, type SnapshotInfo } from './protocol.js';
import { spawnWorker, type SpawnWorkerOptions } from './spawn.js';

/**
 * One query worker as the pool sees it: the child process, its state, and the one query it may
 * be running. The pool decides everything else (which worker runs what, deadlines, memory,
 * replacement); this class only speaks the protocol and reports the exit.
 */

export type WorkerAnswer = QueryResultMessage | QueryErrorMessage;

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of what the worker wrote on stderr (a crash's message), for the log. */
  stderr: string;
}

/** A worker's query ended without an answer: the process exited, or answered out of protocol. */
export class WorkerLost extends Error {
  constructor(
    readonly exit: WorkerExit | null,
    message: string,
  ) {
    super(message);
  }
}

const STDERR_TAIL = 4096;

export class QueryWorker {
  /** starting: until its `ready`; the pool moves it between idle and busy; exited: gone. */
  state: 'starting' | 'idle' | 'busy' | 'exited' = 'starting';
  /** The generation it held when it said it was ready (for the log). */
  snapshot: SnapshotInfo | null = null;
  readonly exited: Promise<WorkerExit>;
  private readonly child: ChildProcess;
  private stderr = '';
  private pending: { id: number; resolve: (a: WorkerAnswer) => void; reject: (e: WorkerLost) => void } | null = null;
  private nextId = 1;

  constructor(opts: SpawnWorkerOptions, onReady: (w: QueryWorker) => void) {
    this.child = spawnWorker(opts);
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-STDERR_TAIL);
    });
    this.child.on('message', (raw: unknown) => {
      const parsed = FromWorkerSchema.safeParse(raw);
      if (!parsed.success) {
        this.fail(new WorkerLost(null, `the query worker answered out of protocol (${parsed.error.issues[0]?.message ?? 'invalid message'})`));
        return;
      }
      const msg = parsed.data;
      if (msg.type === 'ready') {
        this.snapshot = msg.snapshot;
        if (this.state === 'starting') {
          this.state = 'idle';
          onReady(this);
        }
        return;
      }
      const pending = this.pending;
      if (!pending || pending.id !== msg.id) {
        this.fail(new WorkerLost(null, `the query worker answered a query it was not running (${msg.id})`));
        return;
      }
      this.pending = null;
      pending.resolve(msg);
    });
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.state === 'exited') return;
        this.state = 'exited';
        const exit = { code, signal, stderr: this.stderr.trim() };
        this.pending?.reject(new WorkerLost(exit, `the query worker exited (${signal ?? `code ${code}`})`));
        this.pending = null;
        resolve(exit);
      };
      this.child.on('exit', done);
      // A failed spawn (no /bin/sh, no node) emits 'error' and maybe never 'exit'.
      this.child.on('error', (err) => {
        this.stderr += `\n${err.message}`;
        done(null, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends one query; the worker must be busy (reserved by the pool) and not running another. */
  run(req: Omit<QueryRequest, 'type' | 'id'>): Promise<WorkerAnswer> {
    if (this.pending || this.state !== 'busy') return Promise.reject(new WorkerLost(null, `the query worker is ${this.state}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending = { id, resolve, reject };
      this.child.send({ type: 'query', id, ...req }, (err) => {
        if (err) this.fail(new WorkerLost(null, `cannot send the query to its worker: ${err.message}`));
      });
    });
  }

  /** Asks an idle worker to reopen the published file if it was replaced. */
  sync(): void {
    if (this.state === 'idle' && this.child.connected) this.child.send({ type: 'sync' }, () => undefined);
  }

  kill(): void {
    if (this.state !== 'exited') this.child.kill('SIGKILL');
  }

  private fail(err: WorkerLost): void {
    this.pending?.reject(err);
    this.pending = null;
    this.kill();
  }
}
