import { Pool } from 'undici';

/**
 * Steady background traffic through the proxy over kept-alive connections,
 * the way users would hit a service during a deploy. Counts every failure
 * (a non-2xx answer or a connection error) and which version answered, so a
 * deploy can be judged by "0 failed" and "the traffic really moved".
 * Bounded: it stops by itself after `maxDurationMs` or `maxRequests`.
 */
export interface TrafficOptions {
  url: string;
  /** Host header, to pick the service. */
  host?: string;
  path?: string;
  ratePerSecond: number;
  connections?: number;
  maxDurationMs?: number;
  maxRequests?: number;
  /** Send this header with one of `distinctClients` values (u0, u1, ...), so sticky routing sees many users. */
  clientHeader?: string;
  distinctClients?: number;
  /** For an https:// url: the CA to trust and the name to ask for (SNI and certificate check). */
  tls?: { ca: string; servername: string };
}

export interface TrafficSummary {
  sent: number;
  ok: number;
  failed: number;
  connectionErrors: number;
  byVersion: Record<string, number>;
  /** Failed answers by the version that gave them (from the response body), when it said. */
  failedByVersion: Record<string, number>;
  /** Epoch ms of the first failed answer. */
  firstFailureAt: number | null;
  /** Epoch ms of the last answer from each version. */
  lastAnswerAt: Record<string, number>;
  firstErrors: string[];
  durationMs: number;
}

export class SteadyTraffic {
  private readonly pool: Pool;
  private readonly options: Required<Omit<TrafficOptions, 'host' | 'clientHeader' | 'tls'>> & {
    host?: string;
    clientHeader?: string;
  };
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private inFlight = new Set<Promise<void>>();
  readonly summary: TrafficSummary = {
    sent: 0,
    ok: 0,
    failed: 0,
    connectionErrors: 0,
    byVersion: {},
    failedByVersion: {},
    firstFailureAt: null,
    lastAnswerAt: {},
    firstErrors: [],
    durationMs: 0,
  };

  constructor(options: TrafficOptions) {
    this.options = {
      path: '/',
      connections: 8,
      maxDurationMs: 120_000,
      maxRequests: 100_000,
      distinctClients: 1000,
      ...options,
    };
    this.pool = new Pool(this.options.url, {
      connections: this.options.connections,
      keepAliveTimeout: 60_000,
      pipelining: 1,
      ...(options.tls === undefined ? {} : { connect: { ca: options.tls.ca, servername: options.tls.servername } }),
    });
  }

  start(): this {
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), 10);
    return this;
  }

  /** Stops sending, waits for the requests in flight, and returns the summary. */
  async stop(): Promise<TrafficSummary> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.inFlight);
    this.summary.durationMs = Date.now() - this.startedAt;
    await this.pool.close();
    return this.summary;
  }

  /** Waits until at least `count` more answers arrived (or the timeout passed). */
  async waitForAnswers(count: number, timeoutMs = 10_000): Promise<void> {
    const target = this.summary.ok + this.summary.failed + count;
    const until = Date.now() + timeoutMs;
    while (this.summary.ok + this.summary.failed < target && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
  }

  private tick(): void {
    const elapsed = Date.now() - this.startedAt;
    if (elapsed > this.options.maxDurationMs || this.summary.sent >= this.options.maxRequests) {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    const due = Math.floor((elapsed / 1000) * this.options.ratePerSecond) - this.summary.sent;
    for (let i = 0; i < due && this.summary.sent < this.options.maxRequests; i++) this.send();
  }

  private send(): void {
    this.summary.sent += 1;
    const headers: Record<string, string> = {};
    if (this.options.host) headers.host = this.options.host;
    if (this.options.clientHeader)
      headers[this.options.clientHeader] = `u${this.summary.sent % this.options.distinctClients}`;
    const request = this.pool
      .request({ path: this.options.path, method: 'GET', headers })
      .then(async (response) => {
        const text = await response.body.text();
        if (response.statusCode >= 200 && response.statusCode < 300) {
          this.summary.ok += 1;
          const version = (JSON.parse(text) as { version?: string }).version ?? 'unknown';
          this.summary.byVersion[version] = (this.summary.byVersion[version] ?? 0) + 1;
          this.summary.lastAnswerAt[version] = Date.now();
        } else {
          let version = 'unknown';
          try {
            version = (JSON.parse(text) as { version?: string }).version ?? version;
          } catch {
            /* not JSON: an answer of the proxy */
          }
          this.summary.failedByVersion[version] = (this.summary.failedByVersion[version] ?? 0) + 1;
          this.fail(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
        }
      })
      .catch((error: unknown) => {
        this.summary.connectionErrors += 1;
        this.fail(`${(error as { code?: string }).code ?? ''} ${(error as Error).message}`);
      })
      .finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  private fail(reason: string): void {
    this.summary.failed += 1;
    this.summary.firstFailureAt ??= Date.now();
    if (this.summary.firstErrors.length < 10) this.summary.firstErrors.push(reason);
  }
}
