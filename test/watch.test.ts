import { afterEach, describe, expect, it } from 'vitest';
import { EventLog } from '../src/puller/event-log.js';
import { readEventLog } from '../src/shared/events.js';
import { homePaths } from '../src/shared/paths.js';
import { runCli, startDaemon, tempHome, type Daemon } from './helpers/processes.js';
import { startReads, type ReadsProcess } from './reads/fixtures.js';

/**
 * `session-lattice watch` as a real process, piped (as a script would run it), following a real
 * `serve-reads` whose home gets events from the puller's own writer (EventLog).
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** Colour is decided by the terminal alone: neither variable set either way. */
const PLAIN_ENV = { FORCE_COLOR: '', NO_COLOR: '' };

async function setup(): Promise<{ home: string; reads: ReadsProcess; log: EventLog }> {
  const home = await tempHome('lattice-watch-');
  cleanups.push(() => home.cleanup());
  const reads = await startReads(home.dir);
  cleanups.push(() => reads.stop());
  const log = await EventLog.open(homePaths(home.dir), 1024 * 1024, (err) => {
    throw err;
  });
  return { home: home.dir, reads, log };
}

function watch(args: string[], env: Record<string, string> = PLAIN_ENV): Daemon {
  const d = startDaemon(['watch', ...args], env);
  cleanups.push(() => d.stop('SIGKILL'));
  return d;
}

const lines = (d: Daemon): string[] => d.stdout.split('\n').filter((l) => l !== '');
const following = (d: Daemon) => d.waitFor((x) => x.stderr.includes('following '), 'watch to connect');
const printed = (d: Daemon, n: number) => d.waitFor((x) => lines(x).length >= n, `${n} lines on stdout`);

describe('session-lattice watch', () => {
  it('--json, piped, prints each event as its JSON line, --tail N first', async () => {
    const { home, reads, log } = await setup();
    for (let i = 0; i < 5; i++) await log.append({ type: 'tick_started' });
    const w = watch(['--url', reads.url, '--json', '--tail', '2']);
    await following(w);
    await log.append({ type: 'generation_published', generation: 12, bytes: 3_400_000, sessions: 1234, scan_version: 7 });
    await log.append({ type: 'view_failed', view: 'tool_sessions', error: 'Binder Error: no column x' });
    await printed(w, 4);
    const written = (await readEventLog(homePaths(home))).map((e) => JSON.stringify(e));
    expect(lines(w)).toEqual(written.slice(3));
    expect(w.stdout).not.toContain('\x1b[');
    const exit = await w.stop('SIGINT');
    expect(exit.code).toBe(0);
  });

  it('prints one readable line per event, without colour when piped', async () => {
    const { reads, log } = await setup();
    const w = watch(['--url', reads.url]);
    // The same, told to colour: the plain check above has something to miss.
    const coloured = watch(['--url', reads.url], { FORCE_COLOR: '1', NO_COLOR: '' });
    await Promise.all([following(w), following(coloured)]);
    await log.append({ type: 'generation_published', generation: 12, bytes: 3_400_000, sessions: 1234, scan_version: 7 });
    await log.append({
      type: 'tick_finished',
      outcome: 'failed',
      duration_ms: 120,
      phases_ms: { fetch: 120 },
      generation: 12,
      sessions: null,
      rejected_rows: null,
      bytes: null,
      error: 'repo-recall is unreachable: connect ECONNREFUSED',
      error_class: 'unreachable',
      consecutive_failures: 3,
    });
    await log.append({ type: 'upstream_error', error_class: 'timeout', error: 'no answer within 60 s', will_retry: true });
    await log.append({ type: 'a_newer_kind', figure: 4 } as unknown as Parameters<EventLog['append']>[0]);
    await printed(w, 4);
    await printed(coloured, 4);
    const time = String.raw`\d\d:\d\d:\d\d`;
    const got = lines(w);
    expect(got[0]).toMatch(new RegExp(`^${time}  published  generation 12 · 1,234 sessions · 3\\.2 MiB$`));
    expect(got[1]).toMatch(new RegExp(`^${time}  tick failed \\(3 in a row\\): repo-recall is unreachable: connect ECONNREFUSED$`));
    expect(got[2]).toMatch(new RegExp(`^${time}  upstream error \\(timeout, retrying\\): no answer within 60 s$`));
    expect(got[3]).toMatch(new RegExp(`^${time}  a newer kind  figure=4$`));
    expect(w.stdout).not.toContain('\x1b[');
    expect(coloured.stdout).toContain('\x1b[');
  });

  it('exits 1 when serve-reads is gone and not back within --reconnect-seconds', async () => {
    const { reads, log } = await setup();
    const w = watch(['--url', reads.url, '--json', '--reconnect-seconds', '2']);
    await following(w);
    await log.append({ type: 'tick_started' });
    await printed(w, 1);
    await reads.daemon.stop('SIGKILL');
    const exit = await w.exited;
    expect(exit.code, w.stderr).toBe(1);
    expect(w.stderr).toMatch(/lost the connection to .*\/events/);
    expect(w.stderr).toMatch(/gave up: the connection to .* was not back within 2 s/);
  });

  it('exits 1 when no connection can be made at start within --reconnect-seconds', async () => {
    const { reads } = await setup();
    await reads.stop();
    const w = watch(['--url', reads.url, '--reconnect-seconds', '1']);
    const exit = await w.exited;
    expect(exit.code, w.stderr).toBe(1);
    expect(w.stderr).toMatch(/gave up: could not connect to .* within 1 s \(ECONNREFUSED\)/);
  });

  it('resumes with Last-Event-ID, missing and repeating nothing, when serve-reads is back in time', async () => {
    const { home, reads, log } = await setup();
    const w = watch(['--url', reads.url, '--json', '--reconnect-seconds', '120']);
    await following(w);
    for (let i = 0; i < 3; i++) await log.append({ type: 'tick_started' });
    await printed(w, 3);
    await reads.daemon.stop('SIGKILL');
    await w.waitFor((x) => x.stderr.includes('lost the connection'), 'watch to notice');
    // Events while no server is there, then the server back on the same port.
    for (let i = 0; i < 3; i++) await log.append({ type: 'tick_started' });
    const port = new URL(reads.url).port;
    const again = await startReads(home, [], ['--port', port]);
    cleanups.push(() => again.stop());
    await w.waitFor((x) => x.stderr.includes('reconnected'), 'watch to reconnect');
    await log.append({ type: 'tick_started' });
    await printed(w, 7);
    expect(w.stderr).toContain('resuming after event 3');
    const ids = lines(w).map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(w.running).toBe(true);
    const exit = await w.stop('SIGTERM');
    expect(exit.code).toBe(0);
  });

  it('refuses a bad flag with exit 2, naming it', async () => {
    for (const args of [
      ['--tail', 'x'],
      ['--tail', '1001'],
      ['--reconnect-seconds', '-1'],
      ['--url', 'ftp://x'],
    ]) {
      const r = await runCli(['watch', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(args[0]);
    }
  });
});
