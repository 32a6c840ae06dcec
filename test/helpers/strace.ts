import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** True when strace can run here (.ci/run installs it). */
export function hasStrace(): boolean {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The wrapper argv that traces a process and its threads' file-system calls into `traceFile`. */
export function straceWrapper(traceFile: string): string[] {
  return ['strace', '-f', '-qq', '-e', 'trace=openat,open,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,truncate,ftruncate', '-o', traceFile];
}

/** What a trace shows of one directory: opens of the published file, writes, and mutations. */
export interface HomeTrace {
  lines: string[];
  opensOfPublished: string[];
  /** Opens for writing, creating or truncating. */
  writes: string[];
  /** rename, unlink, mkdir, truncate. */
  mutations: string[];
  /**
   * Writes and mutations through a relative path, by any traced process: the reads server and its
   * query workers name every file by its absolute path, so one of these could be under the home
   * without the lines above seeing it.
   */
  relativeWrites: string[];
}

export async function readHomeTrace(traceFile: string, home: string): Promise<HomeTrace> {
  const lines = (await readFile(traceFile, 'utf8')).split('\n');
  const under = (line: string) => line.includes(`"${home}/`) || line.includes(`"${home}"`);
  return {
    lines,
    opensOfPublished: lines.filter((l) => /open(at)?\(/.test(l) && l.includes('session-lattice.duckdb"') && under(l)),
    writes: lines.filter((l) => under(l) && /open(at)?\(|creat\(/.test(l) && /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|creat\(/.test(l)),
    mutations: lines.filter((l) => under(l) && /\b(rename|renameat2?|unlink|unlinkat|mkdir|mkdirat|truncate)\(/.test(l)),
    relativeWrites: lines.filter(
      (l) =>
        /\b[a-z]+(at2?)?\((AT_FDCWD, |\d+, )?"(?!\/)/.test(l) &&
        (/\b(rename|renameat2?|unlink|unlinkat|mkdir|mkdirat|truncate|creat)\(/.test(l) ||
          (/open(at)?\(/.test(l) && /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(l))),
    ),
  };
}
