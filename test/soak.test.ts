import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/**
 * The short form of `npm run soak`: both daemons as real processes for 60 s under churn, kills,
 * restarts, an upstream outage and a large payload. The script itself checks everything and
 * prints its table; this test runs it and requires every check to pass.
 */
describe('soak (60-second form)', () => {
  it('loses nothing under faults', { timeout: 240_000 }, async () => {
    const script = resolve(import.meta.dirname, '../dist/test/soak/main.js');
    const child = spawn(process.execPath, [script, '--seconds', '60', '--large-sessions', '50000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    process.stdout.write(stdout);
    expect(code, `${stdout}\n${stderr.slice(-4000)}`).toBe(0);
    expect(stdout).toMatch(/\nsoak checks: \d+ ok, 0 not ok\n/);
  });
});
