import { writtenBytes } from './write-bytes.js';

export type TickPhase = 'fetch' | 'load' | 'transcripts' | 'views' | 'checkpoint' | 'publish';
export type PhaseFigures = Record<TickPhase, number>;

const zero = (): PhaseFigures => ({ fetch: 0, load: 0, transcripts: 0, views: 0, checkpoint: 0, publish: 0 });

/**
 * Where a tick's time and disk writes went: each `lap` charges what passed since the previous one
 * (or the start) to a phase. Bytes come from /proc/self/io; where the system does not say, only
 * time is kept.
 */
export class PhaseClock {
  readonly ms = zero();
  private readonly bytes = zero();
  private mark = performance.now();
  private writeMark: number | null;

  private constructor(private readonly written0: number | null) {
    this.writeMark = written0;
  }

  static async start(): Promise<PhaseClock> {
    return new PhaseClock(await writtenBytes());
  }

  async lap(phase: TickPhase): Promise<void> {
    const now = performance.now();
    this.ms[phase] += now - this.mark;
    this.mark = now;
    if (this.writeMark === null) return;
    const written = await writtenBytes();
    if (written === null) return;
    this.bytes[phase] += written - this.writeMark;
    this.writeMark = written;
  }

  /** Bytes written since the start, in all and by phase; null where the system does not say. */
  async writes(): Promise<{ total: number; phases: PhaseFigures } | null> {
    if (this.written0 === null) return null;
    const now = (await writtenBytes()) ?? this.written0;
    return { total: now - this.written0, phases: { ...this.bytes } };
  }
}
