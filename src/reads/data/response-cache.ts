/**
 * Rendered responses keyed by (generation, format, normalized query). A published generation
 * never changes, so an entry stays exact until the next generation, when the whole cache is
 * dropped. Bounded in bytes, least recently used out first.
 *
 * A JSON body holds `age_seconds`, which is measured per response: its entry is stored as the
 * bytes before the age and the bytes after it, and the age is spliced in when it is served.
 */
export interface CachedBody {
  generation: number;
  contentType: string;
  /** The headers that describe this body (`X-Lattice-Total`, `Link`), sent again with every hit. */
  headers: Readonly<Record<string, string>>;
  /** Body bytes before the age value (the whole body when `after` is null). */
  before: Buffer;
  /** Body bytes after the age value; null for bodies without one (NDJSON, CSV). */
  after: Buffer | null;
}

export function bodyOf(entry: CachedBody, ageSeconds: number): Buffer {
  if (entry.after === null) return entry.before;
  return Buffer.concat([entry.before, Buffer.from(String(ageSeconds)), entry.after]);
}

export function sizeOf(entry: CachedBody): number {
  return entry.before.length + (entry.after?.length ?? 0) + 200;
}

export class ResponseCache {
  private readonly entries = new Map<string, CachedBody>();
  /** Renders under way, by generation and key: concurrent misses of one key wait for one render. */
  private readonly inflight = new Map<string, Promise<CachedBody | null>>();
  private bytes = 0;
  private generation: number | null = null;
  /** Lookups since start, answered and not (read by /metrics). */
  hits = 0;
  misses = 0;

  constructor(
    readonly maxBytes = 128 * 1024 * 1024,
    readonly maxEntryBytes = 32 * 1024 * 1024,
  ) {}

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes held, as the bound counts them (bodies plus a fixed overhead per entry). */
  get heldBytes(): number {
    return this.bytes;
  }

  get(generation: number, key: string): CachedBody | undefined {
    if (generation !== this.generation) {
      this.misses++;
      return undefined;
    }
    const entry = this.entries.get(key);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Most recently used goes last.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: CachedBody): void {
    const size = sizeOf(entry);
    if (size > this.maxEntryBytes || size > this.maxBytes) return;
    if (this.generation !== entry.generation) {
      // A response of an older generation that finished after the switch is not kept; a newer one
      // replaces everything.
      if (this.generation !== null && entry.generation < this.generation) return;
      this.clear();
      this.generation = entry.generation;
    }
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= sizeOf(old);
    }
    this.entries.set(key, entry);
    this.bytes += size;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= sizeOf(e);
    }
  }

  /**
   * Single flight for a miss: resolves with the entry another request is rendering right now for
   * the same generation and key, or null when this request should render it itself; it must then
   * call `done` with what it rendered (null if it failed or the body was too large to keep).
   * Without this, every connection misses at once right after a generation switch and each renders
   * the same large answer.
   */
  async claim(generation: number, key: string): Promise<{ entry: CachedBody } | { done: (entry: CachedBody | null) => void }> {
    const flightKey = `${generation}\n${key}`;
    const running = this.inflight.get(flightKey);
    if (running) {
      const entry = await running;
      if (entry) return { entry };
    }
    let settle: (entry: CachedBody | null) => void = () => undefined;
    const flight = new Promise<CachedBody | null>((resolve) => (settle = resolve));
    this.inflight.set(flightKey, flight);
    let settled = false;
    return {
      done: (entry) => {
        if (settled) return;
        settled = true;
        if (this.inflight.get(flightKey) === flight) this.inflight.delete(flightKey);
        settle(entry);
      },
    };
  }

  /** Drops everything (a new generation is being served). */
  clear(generation: number | null = null): void {
    this.entries.clear();
    this.bytes = 0;
    this.generation = generation;
  }
}
