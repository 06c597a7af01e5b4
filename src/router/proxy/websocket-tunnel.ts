import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TargetEntry } from '../../core/route-table.js';
import { sendErrorOnSocket, upstreamFailed } from './error-response.js';
import type { TargetBinding, UpgradedConnection } from './release-traffic.js';
import { isConnectErrorCode, type UpstreamPool } from './upstream-pool.js';

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * An upgraded connection (WebSocket, or any `Upgrade:` protocol) passed
 * through as bytes: the request head is rewritten with the forwarded headers
 * and sent to an upstream over a new TCP connection, then both sockets are
 * piped into each other. The upstream's own `101 Switching Protocols` (or its
 * refusal) reaches the client unchanged.
 *
 * The tunnel belongs to the release it was routed to and counts as one of its
 * open upgrades until either side closes, so a drain waits for it and cuts it
 * at the timeout. It is also counted on the pool of the instance it was sent
 * to, so draining that one instance waits for it too. A refused connection is
 * retried on the next instance, like a request without a body.
 */
export class WebSocketTunnel implements UpgradedConnection {
  private readonly client: Duplex;
  private readonly clientHead: Buffer;
  private readonly requestHead: string;
  private readonly target: TargetEntry<TargetBinding>;
  private readonly unhealthy: ReadonlySet<string>;
  private readonly first: number;
  private index: number;
  /** The pool of the instance this tunnel is counted on (not used for the connection itself), null once uncounted. */
  private countedOn: UpstreamPool | null = null;
  private upstream: Socket | null = null;
  private connected = false;
  private finished = false;

  constructor(
    client: Duplex,
    clientHead: Buffer,
    requestHead: string,
    target: TargetEntry<TargetBinding>,
    index: number,
    unhealthy: ReadonlySet<string>,
  ) {
    this.client = client;
    this.clientHead = clientHead;
    this.requestHead = requestHead;
    this.target = target;
    this.index = index;
    this.first = index;
    this.unhealthy = unhealthy;
  }

  start(): void {
    const traffic = this.target.binding.traffic;
    traffic.counters.requests++;
    traffic.upgradeOpened(this);
    this.client.on('error', () => this.destroy());
    this.client.on('close', () => this.onSideClosed());
    this.connectUpstream();
  }

  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
    this.finish();
  }

  private connectUpstream(): void {
    const upstream = this.target.upstreams[this.index];
    if (upstream === undefined) {
      this.fail(new Error(`no upstream #${this.index}`));
      return;
    }
    const pool = this.target.binding.pools[this.index];
    if (pool !== undefined && !this.finished) {
      pool.tunnelOpened(this);
      this.countedOn = pool;
    }
    const socket = connect({ host: upstream.host, port: upstream.port });
    this.upstream = socket;
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => {
      if (!this.connected) socket.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
    });
    socket.once('connect', () => this.onConnected(socket));
    socket.on('error', (err) => {
      if (socket === this.upstream) this.onUpstreamError(err);
    });
    socket.on('close', () => {
      if (socket === this.upstream && this.connected) this.onSideClosed();
    });
  }

  private onConnected(socket: Socket): void {
    if (this.client.destroyed) {
      socket.destroy();
      return;
    }
    this.connected = true;
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.write(this.requestHead);
    if (this.clientHead.length > 0) socket.write(this.clientHead);
    socket.once('data', (chunk: Buffer) => this.countResponseStatus(chunk));
    socket.pipe(this.client);
    this.client.pipe(socket);
  }

  private onUpstreamError(err: Error): void {
    if (!this.connected && !this.client.destroyed && isConnectErrorCode((err as { code?: unknown }).code)) {
      const next = this.target.nextAfter(this.first, this.index, this.unhealthy);
      if (next >= 0) {
        this.leaveUpstream();
        this.index = next;
        this.connectUpstream();
        return;
      }
    }
    if (this.connected) this.destroy();
    else this.fail(err);
  }

  /** No instance took the connection: answer 502 on the raw socket. */
  private fail(err: Error): void {
    const upstream = this.target.upstreams[this.index];
    this.target.binding.traffic.counters.errors++;
    sendErrorOnSocket(this.client, upstreamFailed(this.target.service, upstream?.id ?? '?', err));
    this.upstream?.destroy();
    this.finish();
  }

  /** One side closed: end the other so buffered bytes still go out, and stop counting the tunnel. */
  private onSideClosed(): void {
    if (!this.client.destroyed) this.client.end();
    if (this.upstream !== null && !this.upstream.destroyed) this.upstream.end();
    this.finish();
  }

  private countResponseStatus(chunk: Buffer): void {
    // "HTTP/1.1 101 ..." — the status code sits at bytes 9..11.
    const status = Number(chunk.toString('latin1', 9, 12));
    if (Number.isInteger(status) && status >= 100) this.target.binding.traffic.counters.countStatus(status);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.leaveUpstream();
    this.target.binding.traffic.upgradeClosed(this);
  }

  private leaveUpstream(): void {
    this.countedOn?.tunnelClosed(this);
    this.countedOn = null;
  }
}
