import { pino } from 'pino';
import type { Logger } from '../../shared/logger.js';

/**
 * The access log line, one per request (guard.ts): the same JSON line `logger.info(entry,
 * 'request')` writes, built directly.
 *
 * Why: the access log is the read path's largest fixed cost after the answer itself. pino's
 * generic line (walking the object, a stringifier per key, hooks) took about 2 us on this machine,
 * against about 0.7 us for this fixed template, on a cached answer of 30-40 us
 * (bench/metrics.ts). The line's level, time, bindings (pid, name), message key and ending come
 * from the logger itself through `pino.symbols`, which pino exposes for this ("performant
 * integration"), so the line is pino's. A logger this cannot reproduce (a custom log or level
 * formatter, a mixin, a logMethod hook, another message key, a destination that wants metadata,
 * such as pino.multistream) gets `logger.info` as before.
 */

export interface AccessEntry {
  req_id: string;
  method: string | undefined;
  path: string;
  status: number;
  ms: number;
  bytes: number;
  generation: number | null;
  cache: 'hit' | 'miss' | null;
  /** The response was cut off; the line says so only then. */
  aborted: boolean;
}

export type AccessLog = (entry: AccessEntry) => void;

const S = pino.symbols;

interface PinoInternals {
  [S.lsCacheSym]: Record<number, string>;
  [S.chindingsSym]: string;
  [S.endSym]: string;
  [S.timeSym]: () => string;
  [S.streamSym]: { write(line: string): void; [S.needsMetadataGsym]?: boolean };
  [S.messageKeySym]: string;
  [S.mixinSym]?: unknown;
  [S.hooksSym]?: { logMethod?: unknown };
  [S.formattersSym]: { level: (label: string, n: number) => unknown; log?: (o: object) => object };
}

/** True when the template writes exactly what pino would for this logger. */
function plainPino(l: PinoInternals, level: number): boolean {
  const probe = {};
  const formatters = l[S.formattersSym];
  const stream = l[S.streamSym];
  return (
    typeof l[S.lsCacheSym]?.[level] === 'string' &&
    typeof l[S.timeSym] === 'function' &&
    typeof stream?.write === 'function' &&
    !stream[S.needsMetadataGsym] &&
    l[S.messageKeySym] === 'msg' &&
    !l[S.mixinSym] &&
    !l[S.hooksSym]?.logMethod &&
    typeof formatters?.level === 'function' &&
    (formatters.log === undefined || formatters.log(probe) === probe) &&
    JSON.stringify(formatters.level('info', level)) === `{"level":${level}}`
  );
}

export function accessLog(logger: Logger): AccessLog {
  const info = logger.levels.values.info!;
  const l = logger as unknown as PinoInternals;
  if (!plainPino(l, info)) {
    return ({ aborted, ...entry }) => logger.info(aborted ? { ...entry, aborted } : entry, 'request');
  }
  const head = l[S.lsCacheSym][info]!;
  const time = cachedPerMs(l[S.timeSym]);
  const bindings = l[S.chindingsSym];
  const end = l[S.endSym];
  const stream = l[S.streamSym];
  return (e) => {
    // The keys in the order pino writes them (the object's order); an undefined value is left out, as pino does.
    const method = e.method === undefined ? '' : `,"method":${str(e.method)}`;
    stream.write(
      `${head}${time()}${bindings},"req_id":${str(e.req_id)}${method},"path":${str(e.path)},"status":${e.status},"ms":${finite(e.ms)},"bytes":${finite(e.bytes)},"generation":${e.generation ?? null},"cache":${e.cache === null ? null : str(e.cache)}${e.aborted ? ',"aborted":true' : ''},"msg":"request"${end}`,
    );
  };
}

/**
 * pino's default time (`,"time":<epoch ms>`) made once per millisecond rather than once per line
 * (tens of lines share a millisecond under load); any other time function is called each time.
 */
function cachedPerMs(time: () => string): () => string {
  if (time !== pino.stdTimeFunctions.epochTime) return time;
  let at = -1;
  let text = '';
  return () => {
    const t = Date.now();
    if (t !== at) {
      at = t;
      text = `,"time":${t}`;
    }
    return text;
  };
}

/** Printable ASCII but `"` and `\`: written as it is, which JSON.stringify would do, only slower. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function str(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** pino writes a non-finite number as null. */
function finite(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}
