import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got, with the raw body bytes a signature is checked against. */
export interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  json: unknown;
}

/** How the receiver answers its n-th request (0-based): a status and headers, after a delay. */
export type Answer = (
  n: number,
  request: Received,
) => { status: number; delayMs?: number; headers?: Record<string, string> };

/** A webhook receiver on 127.0.0.1 that records every request. */
export class Receiver {
  readonly received: Received[] = [];
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(answer: Answer = () => ({ status: 200 }), path = '/hooks/cutover'): Promise<Receiver> {
    let receiver: Receiver | null = null;
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks);
        let json: unknown = null;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch {
          /* recorded as null: the test fails on it */
        }
        const got: Received = { at: Date.now(), headers: request.headers, raw, json };
        const r = receiver!;
        const { status, delayMs = 0, headers = {} } = answer(r.received.length, got);
        r.received.push(got);
        for (const wake of r.waiters.splice(0)) wake();
        const reply = (): void => {
          if (!response.destroyed) response.writeHead(status, { 'content-type': 'text/plain', ...headers }).end('ok');
        };
        if (delayMs > 0) setTimeout(reply, delayMs).unref();
        else reply();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new Receiver(server, `http://127.0.0.1:${port}${path}`);
    return receiver;
  }

  /** Resolves when `count` requests that pass `filter` have arrived. */
  async waitFor(count: number, filter: (r: Received) => boolean = () => true, timeoutMs = 15_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matching = this.received.filter(filter);
      if (matching.length >= count) return matching;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `the receiver got ${matching.length} of ${count} expected requests: ${this.received.map((r) => r.headers['x-cutover-event'] ?? '?').join(', ')}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A loopback URL nothing listens on: a port taken and released at once. */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/hooks/down`;
}
