import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** A deadline, not a target: about 1.5 minutes idle, longer on a loaded machine. */
const TEST_TIMEOUT_MS = 10 * 60_000;
/** Before the test's own timeout, the soak is told to stop, so it stops everything it started. */
const STOP_AFTER_MS = TEST_TIMEOUT_MS - 45_000;

/**
 * The short form of `npm run soak`: both daemons as real processes under kills, restarts, an
 * upstream outage, every fault and a large payload, each event driven by what happened, then a
 * steady window for resources. The script itself checks everything and prints its table; this
 * test runs it and requires every check to pass.
 */
describe('soak (60-second form)', () => {
  it('loses nothing under faults', { timeout: TEST_TIMEOUT_MS }, async () => {
    const script = resolve(import.meta.dirname, '../dist/test/soak/main.js');
    const child = spawn(process.execPath, [script, '--seconds', '60', '--large-sessions', '50000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), STOP_AFTER_MS);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    process.stdout.write(stdout);
    expect(code, `${stdout}\n${stderr.slice(-6000)}`).toBe(0);
    expect(stdout).toMatch(/\nsoak checks: \d+ ok, 0 not ok\n/);
    // As root on Linux (CI) the home is a tmpfs and the disk-full episode must have run.
    if (process.platform === 'linux' && process.getuid?.() === 0) {
      expect(stdout).toMatch(/disk full: fatal exits \(75\) \/ health said so \/ recovered +\d+ \/ yes \/ in \d+ s after freeing +yes/);
    }
  });
});
