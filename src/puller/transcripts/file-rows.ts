import type { ResponseLine } from './parse-line.js';

/** Numbers kept per row, in this order, in FileRows.numbers. */
export const NUMBERS_PER_ROW = 6;

/**
 * The responses read from one file, column by column: what a parse worker posts back (the typed
 * arrays are transferred, the strings cloned), and what the stager appends. Only usage metadata.
 * Consecutive lines of one response (Claude Code writes one per content block) are folded already:
 * the kept line is the first with the largest output_tokens, the timestamp the run's earliest.
 */
export interface FileRows {
  count: number;
  keys: string[];
  sessions: string[];
  messageIds: (string | null)[];
  requestIds: (string | null)[];
  agentIds: (string | null)[];
  models: (string | null)[];
  tiers: (string | null)[];
  cwds: (string | null)[];
  /** 1 for a sidechain line. */
  sidechain: Uint8Array;
  /**
   * Per row: timestamp (milliseconds since the epoch, UTC: Claude Code writes milliseconds and
   * parseLine cuts there), input, output, cache creation 5m, cache creation 1h, cache read tokens.
   * Doubles hold all of them exactly (counts are at most 10^12).
   */
  numbers: Float64Array;
}

/** Builds a FileRows line by line, folding runs of lines with the same key. */
export class FileRowsBuilder {
  private readonly rows: FileRows = {
    count: 0,
    keys: [],
    sessions: [],
    messageIds: [],
    requestIds: [],
    agentIds: [],
    models: [],
    tiers: [],
    cwds: [],
    sidechain: new Uint8Array(64),
    numbers: new Float64Array(64 * NUMBERS_PER_ROW),
  };

  add(key: string, line: ResponseLine): void {
    const r = this.rows;
    const last = r.count - 1;
    if (last >= 0 && r.keys[last] === key) {
      const at = last * NUMBERS_PER_ROW;
      const ms = Number(line.timestampMicros / 1000n);
      const first = Math.min(r.numbers[at] ?? ms, ms);
      if (line.outputTokens > (r.numbers[at + 2] ?? 0)) this.set(last, line);
      r.numbers[at] = first;
      return;
    }
    if (r.count === r.sidechain.length) this.grow();
    r.count++;
    r.keys.push(key);
    r.sessions.push('');
    r.messageIds.push(null);
    r.requestIds.push(null);
    r.agentIds.push(null);
    r.models.push(null);
    r.tiers.push(null);
    r.cwds.push(null);
    this.set(last + 1, line);
  }

  private set(i: number, line: ResponseLine): void {
    const r = this.rows;
    r.sessions[i] = line.sessionUuid;
    r.messageIds[i] = line.messageId;
    r.requestIds[i] = line.requestId;
    r.agentIds[i] = line.agentId;
    r.models[i] = line.model;
    r.tiers[i] = line.serviceTier;
    r.cwds[i] = line.cwd;
    r.sidechain[i] = line.isSidechain ? 1 : 0;
    const at = i * NUMBERS_PER_ROW;
    r.numbers[at] = Number(line.timestampMicros / 1000n);
    r.numbers[at + 1] = line.inputTokens;
    r.numbers[at + 2] = line.outputTokens;
    r.numbers[at + 3] = line.cacheCreation5mTokens;
    r.numbers[at + 4] = line.cacheCreation1hTokens;
    r.numbers[at + 5] = line.cacheReadTokens;
  }

  private grow(): void {
    const r = this.rows;
    const sidechain = new Uint8Array(r.sidechain.length * 2);
    sidechain.set(r.sidechain);
    const numbers = new Float64Array(r.numbers.length * 2);
    numbers.set(r.numbers);
    r.sidechain = sidechain;
    r.numbers = numbers;
  }

  /** The rows, with the typed arrays cut to their length (so a transfer moves no slack). */
  finish(): FileRows {
    const r = this.rows;
    return { ...r, sidechain: r.sidechain.slice(0, r.count), numbers: r.numbers.slice(0, r.count * NUMBERS_PER_ROW) };
  }
}
