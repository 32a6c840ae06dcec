import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assistantLine, encodeCwd, summaryLine, toolResultLine, userPromptLine, type ContentBlock, type Envelope, type Usage } from './lines.js';
import { Rng } from './random.js';
import { localMidnights, offsetChanges } from './zone.js';

/**
 * A projects tree of Claude Code transcripts (`<projects>/<encoded-cwd>/<session>.jsonl`, subagents
 * in `<session>/subagents/agent-<id>.jsonl`), deterministic from a seed, with each hazard a reader
 * of usage must survive switched on or off. Used by the transcript tests and `npm run bench --
 * transcripts` (the size knobs make a ~1 GB tree in seconds).
 */

export interface Hazards {
  /** A response written as several lines (thinking, text, each tool_use), each repeating id, requestId and usage. */
  multiBlock: boolean;
  /** Earlier lines of a response carry a smaller (streaming) output_tokens. */
  partials: boolean;
  /** Some sessions resumed into a new file that copies their earlier lines. */
  resumed: boolean;
  /** Subagent files carrying the parent's sessionId, isSidechain and agentId. */
  subagents: boolean;
  /** Sessions that change model, and a second model (Haiku) beside the main one. */
  multiModel: boolean;
  /** Sessions that run past local midnight in each of `zones`. */
  acrossMidnight: boolean;
  /** Sessions that run across a DST change in each of `zones` (when the range has one). */
  acrossDst: boolean;
  /** Part of the cache writes at the 1-hour rate (usage.cache_creation.ephemeral_1h_input_tokens). */
  cache1h: boolean;
  /** Sonnet 4 / 4.5 requests whose input side (input + cache creation + cache read) is over 200k. */
  longContext: boolean;
  /** `<synthetic>` lines (Claude Code's own error messages: zero usage, no requestId). */
  synthetic: boolean;
  /** Multi-line responses whose lines carry no requestId (the same message.id repeated). */
  repeatedIdWithoutRequestId: boolean;
  /** A response whose first line is before local midnight and whose final line after (needs partials). */
  responseAcrossMidnight: boolean;
  /** Single-line responses with no message.id. */
  noMessageId: boolean;
}

export const ALL_HAZARDS: Hazards = {
  multiBlock: true,
  partials: true,
  resumed: true,
  subagents: true,
  multiModel: true,
  acrossMidnight: true,
  acrossDst: true,
  cache1h: true,
  longContext: true,
  synthetic: true,
  repeatedIdWithoutRequestId: true,
  responseAcrossMidnight: true,
  noMessageId: true,
};

export interface GenerateOptions {
  /** The projects directory to write (created). */
  projects: string;
  seed?: number;
  sessions?: number;
  /** Responses per session, on average. */
  responsesPerSession?: number;
  /** The first instant sessions may start (ISO). */
  start?: string;
  days?: number;
  /** The zones whose midnights and DST changes the hazards aim at. */
  zones?: string[];
  hazards?: Partial<Hazards>;
  /** Average size of a text, thinking, tool input or tool result, in characters (the size knob). */
  textBytes?: number;
  /** Distinct working directories (project folders). */
  cwds?: number;
}

export interface GeneratedTree {
  projects: string;
  files: string[];
  bytes: number;
  lines: number;
  /** Distinct responses written (before de-duplication by anyone). */
  responses: number;
}

const MAIN_MODELS = ['claude-sonnet-4-5-20250929', 'claude-opus-4-1-20250805', 'claude-sonnet-4-20250514', 'claude-opus-4-5-20251101'];
const SIDE_MODEL = 'claude-haiku-4-5-20251001';
const LONG_CONTEXT_MODELS = new Set(['claude-sonnet-4-5-20250929', 'claude-sonnet-4-20250514']);
const MINUTE = 60_000;
/** Without responseAcrossMidnight, no response's lines cross a UTC quarter hour: no zone's midnight falls inside one. */
const QUARTER = 15 * MINUTE;

export function generateTranscripts(opts: GenerateOptions): GeneratedTree {
  const g = new Generator(opts);
  return g.run();
}

interface FileOut {
  path: string;
  lines: string[];
}

class Generator {
  private readonly rng: Rng;
  private readonly h: Hazards;
  private readonly filler: string;
  private readonly textBytes: number;
  private readonly files: FileOut[] = [];
  private responses = 0;
  private readonly midnights: number[];
  private readonly dstChanges: number[];
  private readonly startMs: number;
  private readonly spanMs: number;

  constructor(private readonly o: GenerateOptions) {
    this.rng = new Rng(o.seed ?? 1);
    this.h = { ...ALL_HAZARDS, ...(o.hazards ?? {}) };
    if (this.h.responseAcrossMidnight && !this.h.partials) throw new Error('responseAcrossMidnight needs partials (the kept line must be the later one)');
    this.textBytes = o.textBytes ?? 200;
    const alphabet = 'abcdefghijklmnopqrstuvwxyz     .,\n';
    let f = '';
    while (f.length < 65_536) f += alphabet[Math.floor(this.rng.next() * alphabet.length)];
    this.filler = f;
    this.startMs = Date.parse(o.start ?? '2025-10-30T12:00:00Z');
    this.spanMs = (o.days ?? 5) * 86_400_000;
    const zones = o.zones ?? ['America/Los_Angeles'];
    this.midnights = zones.flatMap((z) => localMidnights(this.startMs, this.startMs + this.spanMs, z));
    this.dstChanges = zones.flatMap((z) => offsetChanges(this.startMs, this.startMs + this.spanMs, z));
  }

  run(): GeneratedTree {
    const cwds = Array.from({ length: this.o.cwds ?? 4 }, (_, i) => `/home/dev/code/project-${i}.${this.rng.id(3)}`);
    const sessions = this.o.sessions ?? 20;
    for (let i = 0; i < sessions; i++) this.session(i, this.rng.pick(cwds));
    let bytes = 0;
    let lines = 0;
    for (const f of this.files) {
      mkdirSync(join(f.path, '..'), { recursive: true });
      const text = f.lines.join('\n') + '\n';
      writeFileSync(f.path, text);
      bytes += Buffer.byteLength(text);
      lines += f.lines.length;
    }
    return { projects: this.o.projects, files: this.files.map((f) => f.path), bytes, lines, responses: this.responses };
  }

  private text(): string {
    const n = Math.max(1, Math.floor(this.textBytes * (0.5 + this.rng.next())));
    const at = this.rng.int(0, this.filler.length - 1);
    const s = this.filler.slice(at, at + n);
    return s.length === n ? s : s + this.filler.slice(0, n - s.length);
  }

  /** When session `i` starts: aimed at a midnight or a DST change for some, anywhere in the range otherwise. */
  private sessionStart(i: number): { at: number; crossAt: number | null; crossesMidnight: boolean } {
    if (this.h.acrossDst && this.dstChanges.length > 0 && i % 7 === 1) {
      const change = this.rng.pick(this.dstChanges);
      return { at: change - this.rng.int(20, 50) * MINUTE, crossAt: change, crossesMidnight: false };
    }
    if (this.h.acrossMidnight && this.midnights.length > 0 && i % 5 === 0) {
      const midnight = this.rng.pick(this.midnights);
      return { at: midnight - this.rng.int(10, 40) * MINUTE, crossAt: midnight, crossesMidnight: true };
    }
    return { at: this.startMs + Math.floor(this.rng.next() * (this.spanMs - 6 * 3_600_000)), crossAt: null, crossesMidnight: false };
  }

  private session(i: number, cwd: string): void {
    const sessionId = this.rng.uuid();
    const dir = join(this.o.projects, encodeCwd(cwd));
    const file: FileOut = { path: join(dir, `${sessionId}.jsonl`), lines: [] };
    this.files.push(file);
    const { at, crossAt, crossesMidnight } = this.sessionStart(i);
    const main = MAIN_MODELS[i % MAIN_MODELS.length] ?? 'claude-sonnet-4-5-20250929';
    const second = MAIN_MODELS[(i + 1) % MAIN_MODELS.length] ?? main;
    const count = Math.max(2, Math.round((this.o.responsesPerSession ?? 12) * (0.5 + this.rng.next())));
    const ctx: SessionCtx = {
      sessionId,
      cwd,
      file,
      t: at,
      parent: null,
      isSidechain: false,
      straddle: crossesMidnight && this.h.responseAcrossMidnight ? crossAt : null,
    };
    for (let r = 0; r < count; r++) {
      // Half the session before the midnight or DST change it is aimed at, half after.
      if (crossAt !== null && r === Math.floor(count / 2) && ctx.t < crossAt - 2 * MINUTE) ctx.t = crossAt - 2 * MINUTE;
      if (r === 0 || this.rng.chance(0.3)) this.user(ctx, 'prompt');
      // /model mid-session, and Haiku beside the main model: two models in a day.
      const model = this.h.multiModel ? (r >= count / 2 && i % 3 === 0 ? second : this.rng.chance(0.2) ? SIDE_MODEL : main) : main;
      const toolIds = this.response(ctx, model);
      for (const id of toolIds) this.user(ctx, 'tool_result', id);
      if (this.h.synthetic && this.rng.chance(0.03)) this.synthetic(ctx);
      if (this.h.subagents && toolIds.length > 0 && this.rng.chance(0.1)) this.subagent(ctx, dir);
      ctx.t += this.rng.int(2, 60) * 1000;
    }
    if (this.h.resumed && i % 4 === 3) this.resume(ctx, dir, file, main);
  }

  private env(ctx: SessionCtx, t: number, agentId?: string): Envelope {
    const uuid = this.rng.uuid();
    const e: Envelope = {
      sessionId: ctx.sessionId,
      cwd: ctx.cwd,
      version: '2.0.14',
      gitBranch: 'main',
      isSidechain: ctx.isSidechain,
      parentUuid: ctx.parent,
      uuid,
      timestamp: new Date(t).toISOString(),
    };
    if (agentId !== undefined) e.agentId = agentId;
    ctx.parent = uuid;
    return e;
  }

  private user(ctx: SessionCtx, kind: 'prompt' | 'tool_result', toolUseId = ''): void {
    ctx.t += this.rng.int(200, 3000);
    const e = this.env(ctx, ctx.t, ctx.agentId);
    ctx.file.lines.push(kind === 'prompt' ? userPromptLine(e, this.text()) : toolResultLine(e, toolUseId, this.text()));
  }

  private usage(model: string): Usage {
    const long = this.h.longContext && LONG_CONTEXT_MODELS.has(model) && this.rng.chance(0.15);
    const cacheWrite = this.rng.chance(0.5) ? this.rng.int(100, 12_000) : 0;
    const oneHour = this.h.cache1h && cacheWrite > 0 && this.rng.chance(0.4) ? this.rng.int(0, cacheWrite) : 0;
    return {
      input_tokens: this.rng.int(1, 4_000),
      output_tokens: this.rng.int(20, 4_000),
      cache_creation_5m: cacheWrite - oneHour,
      cache_creation_1h: oneHour,
      // Without the long-context hazard the input side stays under 200k, every kind too.
      cache_read_input_tokens: long ? this.rng.int(190_000, 320_000) : this.rng.int(0, 150_000),
    };
  }

  /** One API response, as one line per content block; returns the tool_use ids it asked for. */
  private response(ctx: SessionCtx, model: string): string[] {
    this.responses++;
    const usage = this.usage(model);
    const noId = this.h.noMessageId && this.rng.chance(0.02);
    const blocks: ContentBlock[] = [];
    const toolIds: string[] = [];
    if (this.h.multiBlock && !noId) {
      if (this.rng.chance(0.5)) blocks.push({ type: 'thinking', thinking: this.text(), signature: this.rng.id(64) });
      if (this.rng.chance(0.7)) blocks.push({ type: 'text', text: this.text() });
      for (let k = this.rng.int(0, 2); k > 0; k--) toolIds.push(`toolu_01${this.rng.id(22)}`);
      for (const id of toolIds)
        blocks.push({ type: 'tool_use', id, name: this.rng.pick(['Bash', 'Read', 'Edit', 'Grep', 'Task']), input: { command: this.text() } });
      if (blocks.length === 0) blocks.push({ type: 'text', text: this.text() });
    } else {
      blocks.push({ type: 'text', text: this.text() });
    }
    const messageId = noId ? undefined : `msg_01${this.rng.id(22)}`;
    const withoutRequestId = noId || (this.h.repeatedIdWithoutRequestId && blocks.length > 1 && this.rng.chance(0.05));
    const requestId = withoutRequestId ? undefined : `req_011C${this.rng.id(20)}`;
    // A straddling response: its first line 0.7 s before midnight, its final (kept) line after.
    let t = ctx.t + this.rng.int(1_000, 20_000);
    let step = this.rng.int(100, 900);
    const straddles = ctx.straddle !== null && t >= ctx.straddle - 5 * MINUTE && t <= ctx.straddle - 700 && messageId !== undefined;
    if (straddles && blocks.length < 2) blocks.push({ type: 'text', text: this.text() });
    if (straddles && ctx.straddle !== null) {
      t = ctx.straddle - 700;
      step = Math.ceil(1_400 / (blocks.length - 1));
      ctx.straddle = null;
    } else {
      const end = t + step * (blocks.length - 1);
      if (Math.floor(t / QUARTER) !== Math.floor(end / QUARTER)) t = Math.floor(end / QUARTER) * QUARTER + 1_000;
    }
    blocks.forEach((block, k) => {
      const last = k === blocks.length - 1;
      const partial = this.h.partials && !last && this.rng.chance(0.5);
      const u = partial ? { ...usage, output_tokens: this.rng.int(1, usage.output_tokens - 1) } : usage;
      const line: Parameters<typeof assistantLine>[1] = {
        model,
        block,
        usage: u,
        breakdown: true,
        stopReason: last ? (toolIds.length > 0 ? 'tool_use' : 'end_turn') : null,
      };
      if (messageId !== undefined) line.messageId = messageId;
      if (requestId !== undefined) line.requestId = requestId;
      ctx.file.lines.push(assistantLine(this.env(ctx, t + k * step, ctx.agentId), line));
    });
    ctx.t = t + step * (blocks.length - 1);
    return toolIds;
  }

  private synthetic(ctx: SessionCtx): void {
    ctx.t += 500;
    const zero = { input_tokens: 0, output_tokens: 0, cache_creation_5m: 0, cache_creation_1h: 0, cache_read_input_tokens: 0 };
    ctx.file.lines.push(
      assistantLine(this.env(ctx, ctx.t), {
        messageId: this.rng.uuid(),
        model: '<synthetic>',
        block: { type: 'text', text: 'API Error: 500 internal error' },
        usage: zero,
        breakdown: false,
        stopReason: 'stop_sequence',
        apiError: true,
      }),
    );
  }

  /** A subagent (Task) file: the parent's sessionId, isSidechain, an agentId, its own responses. */
  private subagent(parent: SessionCtx, dir: string): void {
    const agentId = this.rng.id(8);
    const file: FileOut = { path: join(dir, parent.sessionId, 'subagents', `agent-${agentId}.jsonl`), lines: [] };
    this.files.push(file);
    const ctx: SessionCtx = { ...parent, file, parent: null, isSidechain: true, agentId, straddle: null };
    this.user(ctx, 'prompt');
    for (let r = this.rng.int(1, 4); r > 0; r--) {
      for (const id of this.response(ctx, this.h.multiModel ? SIDE_MODEL : this.rng.pick(MAIN_MODELS))) this.user(ctx, 'tool_result', id);
    }
    parent.t = Math.max(parent.t, ctx.t);
  }

  /** `--resume`: a new file (new sessionId) starting with a summary and a copy of the old lines, then new turns. */
  private resume(old: SessionCtx, dir: string, oldFile: FileOut, model: string): void {
    const sessionId = this.rng.uuid();
    const file: FileOut = { path: join(dir, `${sessionId}.jsonl`), lines: [summaryLine(this.text().slice(0, 60), old.parent ?? '')] };
    this.files.push(file);
    for (const line of oldFile.lines) file.lines.push(line.replace(`"sessionId":"${old.sessionId}"`, `"sessionId":"${sessionId}"`));
    const ctx: SessionCtx = { ...old, sessionId, file, straddle: null, t: old.t + this.rng.int(5, 120) * MINUTE };
    for (let r = this.rng.int(2, 6); r > 0; r--) {
      this.user(ctx, 'prompt');
      for (const id of this.response(ctx, model)) this.user(ctx, 'tool_result', id);
    }
  }
}

interface SessionCtx {
  sessionId: string;
  cwd: string;
  file: FileOut;
  t: number;
  parent: string | null;
  isSidechain: boolean;
  agentId?: string;
  /** The midnight a response of this session is still to straddle (responseAcrossMidnight). */
  straddle: number | null;
}
