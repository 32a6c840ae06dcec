import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

interface Freshness {
  generation: number;
  scan_version: number | null;
}

interface RowsBody {
  freshness?: Freshness;
  total?: number;
}

/**
 * The soak's readers: a few concurrent loops reading views over HTTP and, every tenth call, over
 * /mcp, until stop(). Every answer must carry its freshness, its generation must never go
 * backwards within a loop, and `session_facts` (one row per session) must hold exactly the
 * sessions of the upstream scan its freshness names. The soak drives its events by what the
 * readers were served (`maxGeneration`, `ok`).
 */
export class LoadGenerator {
  ok = 0;
  mcpOk = 0;
  failed: string[] = [];
  failedWhileDown = 0;
  mismatches: string[] = [];
  backwards = 0;
  readonly generations = new Set<number>();
  /** The newest generation any reader has been served (0: none yet). */
  maxGeneration = 0;
  private readsDown = false;
  /** Counts restarts of the reads server: a request that overlapped one may fail. */
  private restartEpoch = 0;
  private stopped = false;
  // Deadlines, not targets: a reply that slow on a loaded machine is not what the soak checks.
  private readonly agent = new Agent({ connections: 8, headersTimeout: 60_000, bodyTimeout: 60_000 });

  constructor(
    private readonly baseUrl: string,
    private readonly expectedSessions: Map<number, number>,
  ) {}

  /** The reads server is going down: failures from now until markReadsUp() are expected. */
  markReadsDown(): void {
    this.readsDown = true;
    this.restartEpoch++;
  }

  markReadsUp(): void {
    this.readsDown = false;
    this.restartEpoch++;
  }

  /** Runs `loops` readers until stop(). */
  async run(loops: number): Promise<void> {
    try {
      await Promise.all(Array.from({ length: loops }, (_, i) => this.loop(i)));
    } finally {
      await this.agent.close();
    }
  }

  /** The loops end after their current request. */
  stop(): void {
    this.stopped = true;
  }

  private async loop(id: number): Promise<void> {
    let last = 0;
    for (let n = 0; !this.stopped; n++) {
      const epoch = this.restartEpoch;
      try {
        const body = n % 10 === id % 10 ? await this.mcpRead() : await this.httpRead(n);
        if (body === 'starting') {
          await sleep(100);
          continue;
        }
        const fresh = body.freshness;
        if (!fresh) throw new Error('response without freshness');
        if (fresh.generation < last) this.backwards++;
        last = fresh.generation;
        this.generations.add(fresh.generation);
        this.maxGeneration = Math.max(this.maxGeneration, fresh.generation);
        if (body.total !== undefined && fresh.scan_version !== null) this.checkRows(fresh, body.total);
        this.ok++;
      } catch (err) {
        if (this.readsDown || epoch !== this.restartEpoch) this.failedWhileDown++;
        else this.failed.push(err instanceof Error ? err.message : String(err));
        await sleep(50);
      }
    }
  }

  private checkRows(fresh: Freshness, total: number): void {
    const expected = this.expectedSessions.get(fresh.scan_version ?? -1);
    if (expected === undefined) {
      this.mismatches.push(`generation ${fresh.generation}: unknown scan_version ${fresh.scan_version}`);
    } else if (expected !== total) {
      this.mismatches.push(`generation ${fresh.generation} scan ${fresh.scan_version}: ${total} sessions, expected ${expected}`);
    }
  }

  private async httpRead(n: number): Promise<RowsBody | 'starting'> {
    const paths = ['/views/session_facts?limit=5', '/views/session_facts?limit=5&order_by=-session_id', '/views/tool_sessions?limit=20', '/views', '/healthz'];
    const path = paths[n % paths.length]!;
    const res = await request(`${this.baseUrl}${path}`, { dispatcher: this.agent });
    const text = await res.body.text();
    if (res.statusCode === 503 && (text.includes('no_snapshot') || text.includes('"starting"'))) return 'starting';
    if (path === '/healthz') {
      // 503 with a health body is an answer too: a verdict of `failing` (faults and outages make
      // the data stale at this soak's short interval) is the health check doing its job.
      const h = JSON.parse(text) as { status: string; generation: number | null };
      const verdictOk = res.statusCode === 200 ? ['ok', 'degraded'].includes(h.status) : res.statusCode === 503 && h.status === 'failing';
      if (!verdictOk || h.generation === null) throw new Error(`/healthz answered ${res.statusCode}: ${text.slice(0, 200)}`);
      return { freshness: { generation: h.generation, scan_version: null } };
    }
    if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    const body = JSON.parse(text) as RowsBody;
    // Only session_facts' total is a function of the upstream scan.
    return path.startsWith('/views/session_facts') ? body : { freshness: body.freshness };
  }

  /**
   * Over /mcp, alternately: `read_view` of session_facts, and a `query` counting the generation's
   * own base rows next to the scan it declares.
   */
  private async mcpRead(): Promise<RowsBody | 'starting'> {
    const client = new Client({ name: 'soak', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${this.baseUrl}/mcp`)));
    try {
      const useQuery = this.mcpOk % 2 === 1;
      const result = useQuery
        ? await client.callTool({
            name: 'query',
            arguments: { sql: 'SELECT (SELECT count(*) FROM base.sessions) AS n, (SELECT scan_version FROM lattice.meta) AS scan' },
          })
        : await client.callTool({ name: 'read_view', arguments: { view: 'session_facts', limit: 3 } });
      const text = JSON.stringify(result.content);
      if (result.isError) {
        if (text.includes('no snapshot')) return 'starting';
        throw new Error(`MCP ${useQuery ? 'query' : 'read_view'} failed: ${text.slice(0, 200)}`);
      }
      this.mcpOk++;
      if (!useQuery) return result.structuredContent as RowsBody;
      const body = result.structuredContent as { freshness: Freshness; rows: Array<{ n: number; scan: number }> };
      const row = body.rows[0]!;
      return { freshness: { generation: body.freshness.generation, scan_version: row.scan }, total: row.n };
    } finally {
      await client.close();
    }
  }
}
