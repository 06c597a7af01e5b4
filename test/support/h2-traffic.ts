import http2 from 'node:http2';

export interface CallSummary {
  sent: number;
  ok: number;
  failed: number;
  byVersion: Record<string, number>;
  firstErrors: string[];
}

/**
 * Steady calls at a fixed rate, bounded in count and time, for the HTTP/2
 * and gRPC end-to-end tests: `call` makes one and resolves with the version
 * that answered (rejects on any failure). Like examples/demo/steady-traffic
 * for HTTP/1.1, which undici's pool speaks.
 */
export class SteadyCalls {
  readonly summary: CallSummary = { sent: 0, ok: 0, failed: 0, byVersion: {}, firstErrors: [] };
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;

  constructor(
    private readonly call: () => Promise<string>,
    private readonly options: { ratePerSecond: number; maxCalls: number; maxDurationMs: number },
  ) {}

  start(): this {
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), 10);
    return this;
  }

  async waitForAnswers(count: number, timeoutMs = 10_000): Promise<void> {
    const target = this.summary.ok + this.summary.failed + count;
    const until = Date.now() + timeoutMs;
    while (this.summary.ok + this.summary.failed < target && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 20));
  }

  async stop(): Promise<CallSummary> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.inFlight);
    return this.summary;
  }

  private tick(): void {
    const elapsed = Date.now() - this.startedAt;
    if (elapsed > this.options.maxDurationMs || this.summary.sent >= this.options.maxCalls) {
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    const due = Math.floor((elapsed / 1000) * this.options.ratePerSecond) - this.summary.sent;
    for (let i = 0; i < due && this.summary.sent < this.options.maxCalls; i++) this.send();
  }

  private send(): void {
    this.summary.sent++;
    const done = this.call().then(
      (version) => {
        this.summary.ok++;
        this.summary.byVersion[version] = (this.summary.byVersion[version] ?? 0) + 1;
      },
      (error: unknown) => {
        this.summary.failed++;
        if (this.summary.firstErrors.length < 10) this.summary.firstErrors.push(String(error));
      },
    );
    const tracked = done.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }
}

/**
 * GET requests over one HTTP/2 session (ALPN h2, asserted), opened again
 * when the server ends it (a GOAWAY): what a browser does.
 */
export class Http2Getter {
  private session: http2.ClientHttp2Session | null = null;

  constructor(
    private readonly url: string,
    private readonly host: string,
    private readonly caPem: string,
  ) {}

  get(path: string): Promise<string> {
    const session = this.currentSession();
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':path': path, ':authority': this.host });
      let status = 0;
      let body = '';
      stream.setEncoding('utf8');
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.on('data', (chunk: string) => (body += chunk));
      stream.on('error', reject);
      stream.on('end', () => {
        if (session.alpnProtocol !== 'h2') reject(new Error(`negotiated ${String(session.alpnProtocol)}, not h2`));
        else if (status !== 200) reject(new Error(`HTTP ${status}: ${body.slice(0, 200)}`));
        else resolve((JSON.parse(body) as { version: string }).version);
      });
    });
  }

  close(): void {
    this.session?.close();
  }

  private currentSession(): http2.ClientHttp2Session {
    const current = this.session;
    if (current !== null && !current.closed && !current.destroyed) return current;
    const session = http2.connect(this.url, { ca: this.caPem, servername: this.host });
    session.on('error', () => undefined);
    // After a GOAWAY the next request opens a new session (the old one finishes its streams).
    session.once('goaway', () => {
      if (this.session === session) this.session = null;
    });
    this.session = session;
    return session;
  }
}
