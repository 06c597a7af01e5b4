import { request as httpRequest, STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TargetEntry } from '../route-table.js';
import { sendErrorOnSocket, upstreamFailed } from './error-response.js';
import { headerNameIs, isHopByHopHeader } from './hop-by-hop-headers.js';
import type { ProxyContext } from './proxy-context.js';
import type { TargetBinding } from './release-traffic.js';
import { retryTarget } from './retry-choice.js';
import type { UpgradedConnection } from './upgraded-connection.js';
import { isConnectErrorCode, type UpstreamPool } from './upstream-pool.js';

/** A server's WebSocket close frame (FIN, opcode 8, unmasked) with status 1001, going away. */
const GOING_AWAY_FRAME = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

/** After a going-away close frame, how long the client has to close before both sockets are destroyed. */
const GOING_AWAY_LINGER_MS = 1_000;

/** Until the upstream answers an upgrade, as for a request's response head. */
const UPGRADE_ANSWER_TIMEOUT_MS = 60_000;

/**
 * An upgraded connection (WebSocket, or any `Upgrade:` protocol): the
 * request is sent to an upstream over a connection of its own with the
 * forwarded headers, and only when the upstream answers
 * `101 Switching Protocols` are the two sockets piped into each other.
 *
 * Any other answer is relayed as an ordinary response with
 * `Connection: close`, and the client connection ends with it. Piping on a
 * refusal would turn the client's socket into a raw pipe to the backend, so
 * whatever the client sent next (a second request with a forged Host or
 * X-Forwarded-For) would reach the backend unrouted and unrewritten. Node has
 * already handed the socket over, so it is not parsed again: the bytes after
 * the upgrade request are dropped, and the client reconnects.
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
  private readonly req: IncomingMessage;
  private readonly headers: string[];
  private readonly target: TargetEntry<TargetBinding>;
  private readonly context: ProxyContext;
  private readonly first: number;
  private index: number;
  /** The pool of the instance this tunnel is counted on (not used for the connection itself), null once uncounted. */
  private countedOn: UpstreamPool | null = null;
  private upstreamRequest: ClientRequest | null = null;
  private upstream: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The upstream answered (101 or not): no retry on another instance from here on. */
  private answered = false;
  private finished = false;

  constructor(
    client: Duplex,
    clientHead: Buffer,
    req: IncomingMessage,
    headers: string[],
    target: TargetEntry<TargetBinding>,
    index: number,
    context: ProxyContext,
  ) {
    this.client = client;
    this.clientHead = clientHead;
    this.req = req;
    this.headers = upgradeHeaders(headers, req);
    this.target = target;
    this.index = index;
    this.first = index;
    this.context = context;
  }

  start(): void {
    const traffic = this.target.binding.traffic;
    traffic.counters.requests++;
    traffic.upgradeOpened(this);
    this.client.on('error', () => this.destroy());
    this.client.on('close', () => this.onClientClosed());
    this.connectUpstream();
  }

  destroy(): void {
    this.client.destroy();
    this.upstreamRequest?.destroy();
    this.upstream?.destroy();
    this.finish();
  }

  /**
   * A WebSocket gets a close frame with status 1001 (going away, RFC 6455
   * 7.4.1) so its client reconnects at once, to the next proxy generation;
   * the upstream sees its connection end. Bytes the upstream was still
   * sending are not relayed after the frame. Any other upgraded protocol has
   * no such frame: it is ended.
   */
  goAway(): void {
    if (this.finished) return;
    if (this.upstream === null) {
      this.destroy();
      return;
    }
    this.upstream.unpipe(this.client);
    if (/^websocket$/i.test(this.req.headers.upgrade ?? '')) this.client.write(GOING_AWAY_FRAME);
    this.client.end();
    this.upstream.end();
    // The client answers with its own close frame and its FIN; whatever it does, both sockets are gone soon after,
    // so the retiring proxy is not kept waiting by a half-closed socket.
    setTimeout(() => this.destroy(), GOING_AWAY_LINGER_MS).unref();
  }

  private connectUpstream(): void {
    const upstream = this.target.upstreams[this.index];
    const pool = this.target.binding.pools[this.index];
    if (upstream === undefined || pool === undefined) {
      this.fail(new Error(`no upstream #${this.index}`));
      return;
    }
    if (!this.finished) {
      pool.tunnelOpened(this);
      this.countedOn = pool;
    }
    const request = httpRequest({
      host: upstream.host,
      port: upstream.port,
      method: this.req.method ?? 'GET',
      path: this.req.url ?? '/',
      headers: this.headers,
      setHost: false,
      agent: false,
    });
    this.upstreamRequest = request;
    this.armTimer(pool.connectTimeoutMs, 'UND_ERR_CONNECT_TIMEOUT', 'connect timed out');
    request.on('socket', (socket: Socket) => {
      socket.once('connect', () => {
        if (request === this.upstreamRequest)
          this.armTimer(UPGRADE_ANSWER_TIMEOUT_MS, 'UND_ERR_HEADERS_TIMEOUT', 'no answer to the upgrade in time');
      });
    });
    request.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) =>
      this.onSwitched(request, res, socket, head),
    );
    request.on('response', (res: IncomingMessage) => this.onRefused(request, res));
    request.on('error', (err: Error) => {
      if (request === this.upstreamRequest) this.onUpstreamError(err);
    });
    request.end();
  }

  /** 101: the protocol switched; from here on both sides are raw bytes. */
  private onSwitched(request: ClientRequest, res: IncomingMessage, socket: Socket, head: Buffer): void {
    if (request !== this.upstreamRequest) {
      socket.destroy();
      return;
    }
    this.answered = true;
    this.clearTimer();
    if (this.client.destroyed) {
      socket.destroy();
      return;
    }
    this.upstream = socket;
    this.target.binding.traffic.counters.countStatus(101);
    if (this.countedOn !== null && this.countedOn.consecutiveFailures !== 0)
      this.context.passiveHealth.succeeded(this.countedOn);
    socket.setNoDelay(true);
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.onUpstreamClosed());
    this.client.write(responseHead(res, false));
    if (head.length > 0) this.client.write(head);
    if (this.clientHead.length > 0) socket.write(this.clientHead);
    socket.pipe(this.client);
    this.client.pipe(socket);
  }

  /**
   * Not a 101: relayed as a plain response that closes the connection. The
   * body needs no framing of ours: it ends when the connection does.
   */
  private onRefused(request: ClientRequest, res: IncomingMessage): void {
    if (request !== this.upstreamRequest) {
      res.destroy();
      return;
    }
    this.answered = true;
    this.clearTimer();
    const status = res.statusCode ?? 502;
    this.target.binding.traffic.counters.countStatus(status);
    const pool = this.countedOn;
    if (pool !== null) {
      if (status >= 500) this.context.passiveHealth.failed(pool, this.target, `status ${status}`);
      else if (pool.consecutiveFailures !== 0) this.context.passiveHealth.succeeded(pool);
    }
    if (this.client.destroyed) {
      request.destroy();
      return;
    }
    this.client.write(responseHead(res, true));
    res.on('error', () => this.destroy());
    res.on('end', () => {
      this.client.end();
      request.destroy();
      this.finish();
    });
    res.pipe(this.client, { end: false });
  }

  private onUpstreamError(err: Error): void {
    this.clearTimer();
    if (this.answered) {
      this.destroy();
      return;
    }
    const code = (err as { code?: unknown }).code;
    if (this.countedOn !== null && !this.client.destroyed)
      this.context.passiveHealth.failed(this.countedOn, this.target, typeof code === 'string' ? code : err.message);
    if (!this.client.destroyed && isConnectErrorCode(code)) {
      const next = retryTarget(this.target, this.first, this.index, this.context.outOfRotation);
      if (next >= 0) {
        this.leaveUpstream();
        this.index = next;
        this.connectUpstream();
        return;
      }
    }
    this.fail(err);
  }

  /** No instance took the connection: answer 502 (504 on a timeout) on the raw socket. */
  private fail(err: Error): void {
    const upstream = this.target.upstreams[this.index];
    this.target.binding.traffic.counters.errors++;
    sendErrorOnSocket(
      this.client,
      this.req.rawHeaders,
      upstreamFailed(this.target.service, upstream?.id ?? '?', err),
      this.context.logger,
    );
    this.upstreamRequest?.destroy();
    this.finish();
  }

  private onClientClosed(): void {
    if (!this.answered) this.upstreamRequest?.destroy();
    if (this.upstream !== null && !this.upstream.destroyed) this.upstream.end();
    this.finish();
  }

  /** The upstream closed a switched connection: end the client's so buffered bytes still go out. */
  private onUpstreamClosed(): void {
    if (!this.client.destroyed) this.client.end();
    this.finish();
  }

  private armTimer(ms: number, code: string, message: string): void {
    this.clearTimer();
    const request = this.upstreamRequest;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (request !== null && request === this.upstreamRequest && !this.answered)
        request.destroy(Object.assign(new Error(message), { code }));
    }, ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    this.leaveUpstream();
    this.target.binding.traffic.upgradeClosed(this);
  }

  private leaveUpstream(): void {
    this.countedOn?.tunnelClosed(this);
    this.countedOn = null;
  }
}

/**
 * The upstream request's headers: the forwarded ones without any body
 * framing (an upgrade request carries none; the bytes after its head belong
 * to the new protocol and go out only after a 101), plus Connection/Upgrade.
 */
function upgradeHeaders(forwarded: readonly string[], req: IncomingMessage): string[] {
  const headers: string[] = [];
  for (let i = 0; i < forwarded.length; i += 2) {
    const name = forwarded[i] as string;
    if (headerNameIs(name, 'content-length')) continue;
    headers.push(name, forwarded[i + 1] as string);
  }
  headers.push('connection', 'upgrade', 'upgrade', req.headers.upgrade ?? 'websocket');
  return headers;
}

/** A response head for the client: the upstream's headers; on a refusal without its hop-by-hop ones and with `connection: close`. */
function responseHead(res: IncomingMessage, closing: boolean): string {
  const status = res.statusCode ?? 502;
  let head = `HTTP/1.1 ${status} ${res.statusMessage ?? STATUS_CODES[status] ?? ''}\r\n`;
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (closing && isHopByHopHeader(name)) continue;
    head += `${name}: ${raw[i + 1] as string}\r\n`;
  }
  return closing ? `${head}connection: close\r\n\r\n` : `${head}\r\n`;
}
