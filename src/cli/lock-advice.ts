import { execFileSync } from 'node:child_process';
import { PullerLockedError } from '../shared/errors.js';

/**
 * The refusal of a second puller, with advice that fits who runs the one holding the home: a
 * puller that `session-lattice serve` supervises is restarted when killed alone, so the advice is
 * to stop that serve; any other is stopped as a service or by its pid.
 */
export function lockRefusal(err: PullerLockedError): PullerLockedError {
  const pid = err.holderPid;
  if (pid === null) return err;
  const serve = supervisingServe(pid);
  return serve === null
    ? new PullerLockedError(
        err.situation,
        pid,
        `stop it first (brew services stop session-lattice-puller or systemctl --user stop session-lattice-puller if it runs as a service, otherwise kill ${pid})`,
      )
    : new PullerLockedError(
        `${err.situation}, supervised by session-lattice serve (PID ${serve})`,
        pid,
        `stop that serve first (Ctrl-C where it runs, or kill ${serve}): a puller killed alone is restarted by its serve`,
      );
}

/** The pid of the `session-lattice serve` whose child `pid` is, or null (not one, or `ps` cannot say). */
function supervisingServe(pid: number): number | null {
  try {
    const ppid = Number(execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8', timeout: 5000 }).trim());
    if (!Number.isInteger(ppid) || ppid <= 1) return null;
    const command = execFileSync('ps', ['-o', 'command=', '-p', String(ppid)], { encoding: 'utf8', timeout: 5000 });
    return /(^|\s)serve(\s|$)/.test(command) ? ppid : null;
  } catch {
    return null;
  }
}
