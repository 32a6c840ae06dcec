import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The read path's log lines, made cheaper for issue 15 (bench/metrics.ts): the daemons' batched
 * stdout must lose and reorder nothing (in a real child process). The access line built from a
 * template is checked in test/unit/access-line.test.ts.
 */

describe("the daemons' batched stdout", () => {
  const writer = resolve(import.meta.dirname, '../dist/src/cli/batched-writer.js');

  /** A child that writes `count` numbered lines through a BatchedWriter on fd 1, then exits as told. */
  async function childLines(count: number, exit: 'natural' | 'process.exit'): Promise<string[]> {
    const script = `
      import { BatchedWriter } from ${JSON.stringify(writer)};
      const out = new BatchedWriter(1, 4096, 50);
      for (let i = 0; i < ${count}; i++) out.write(JSON.stringify({ i, pad: 'é'.repeat(i % 97) }) + '\\n');
      ${exit === 'process.exit' ? 'process.exit(0);' : ''}
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    const [code] = (await once(child, 'close')) as [number];
    expect(code).toBe(0);
    return text.split('\n').filter(Boolean);
  }

  it('writes every line, in order, when the process ends by itself or by process.exit', async () => {
    for (const exit of ['natural', 'process.exit'] as const) {
      const lines = await childLines(5000, exit);
      expect(
        lines.map((l) => (JSON.parse(l) as { i: number }).i),
        exit,
      ).toEqual([...Array(5000).keys()]);
    }
  });
});
