import http2, {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { TargetEntry } from '../route-table.js';
import { grpcStatusAsHttp, GRPC_UNAVAILABLE } from './grpc-status.js';
import type { ProxyContext } from './proxy-context.js';
import type { TargetBinding } from './release-traffic.js';
import { retryTarget } from './retry-choice.js';
import type { UpstreamPool } from './upstream-pool.js';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/**
 * One gRPC call (`protocol: grpc`): an HTTP/2 stream from the client, sent
 * as a stream of the instance's HTTP/2 cleartext session, both ways at once
 * (unary, client-, server- and bidirectional streaming alike), the
 * response's trailers passed on as trailers. Like an HTTP request, it keeps
 * the release and the instance it was routed to when it arrived: a switch
 * or a drain lets it finish there.
 *
 * What the release's counters see is the call's gRPC status (from the
 * trailers, or the head of a trailers-only answer), as the HTTP status a
 * gateway maps it to (grpc-status.ts): UNAVAILABLE counts as a 503,
 * INTERNAL as a 500, so the error-rate analysis and passive health judge a
 * gRPC canary the way they judge an HTTP one. Latency is the whole call.
 *
 * Only a call whose instance could not be reached moves to another instance
 * of the release (nothing of it was sent: the stream opens after the
 * session connected); any other failure ends the call with UNAVAILABLE
 * before a response head, or with a reset after one.
 */
export class GrpcExchange {
  private readonly client: ServerHttp2Stream;
  private upstream: ClientHttp2Stream | null = null;
  private countedOn: UpstreamPool | null = null;
  private grpcStatus: number | null = null;
  private done = false;
  private readonly first: number;

  constructor(
    private readonly req: Http2ServerRequest,
    /**
     * The answer goes through the compatibility response rather than the raw
     * stream: Node's compatibility layer owns the stream's trailers (it sends
     * its own on 'wantTrailers'), so ours are handed to it with addTrailers.
     */
    private readonly res: Http2ServerResponse,
    private readonly target: TargetEntry<TargetBinding>,
    private index: number,
    /** The request's headers in HTTP/1.1 form, as sent upstream (forwarded headers added). */
    private readonly headers: readonly string[],
    private readonly context: ProxyContext,
    private readonly startedAt: number,
  ) {
    this.client = req.stream;
    this.first = index;
  }

  start(): void {
    this.target.binding.traffic.requestStarted();
    this.client.once('close', () => this.clientClosed());
    // The body (read through the compatibility request, which buffers the stream's data) is piped only once the
    // upstream stream exists (see `send`): until then the stream's flow control holds the client back.
    this.connect();
  }

  private connect(): void {
    const pool = this.target.binding.pools[this.index] as UpstreamPool;
    pool.inFlight++;
    this.countedOn = pool;
    pool.http2Session().then(
      (session) => this.send(session),
      (error: Error) => this.connectFailed(error),
    );
  }

  private connectFailed(error: Error): void {
    if (this.done) return;
    const pool = this.countedOn;
    if (pool !== null) this.context.passiveHealth.failed(pool, this.target, describe(error));
    const next = retryTarget(this.target, this.first, this.index, this.context.outOfRotation);
    if (next >= 0 && !this.client.destroyed) {
      this.leaveUpstream();
      this.index = next;
      this.connect();
      return;
    }
    this.fail(`no instance could be reached: ${describe(error)}`);
  }

  private send(session: ClientHttp2Session): void {
    if (this.done) return;
    const client = this.client;
    let upstream: ClientHttp2Stream;
    try {
      upstream = session.request(upstreamRequestHeaders(this.req, this.headers), {
        endStream: client.endAfterHeaders,
      });
    } catch (error) {
      // The session went away between the connect and now (a GOAWAY): a new one is opened for the next try.
      this.connectFailed(error as Error);
      return;
    }
    this.upstream = upstream;
    upstream.on('error', noop);
    upstream.once('response', (head, flags) => this.respond(head, flags));
    upstream.once('trailers', (trailers) => this.upstreamTrailers(trailers));
    upstream.once('close', () => this.upstreamClosed());
    if (!client.endAfterHeaders) this.req.pipe(upstream);
  }

  private respond(head: IncomingHttpHeaders, flags: number): void {
    const res = this.res;
    const status = Number(head[':status']);
    const headers = passedHeaders(head);
    if (this.client.destroyed) return;
    if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
      // Trailers-only (a call that failed at once): its status fields go out as trailers, which every client reads.
      this.grpcStatus = grpcStatusOf(head, status);
      const trailers: OutgoingHttpHeaders = {};
      for (const name of STATUS_FIELDS) {
        if (headers[name] === undefined) continue;
        trailers[name] = headers[name];
        delete headers[name];
      }
      res.writeHead(status, headers);
      res.addTrailers(trailers);
      res.end();
      return;
    }
    res.writeHead(status, headers);
    (this.upstream as ClientHttp2Stream).pipe(res);
  }

  /** They arrive before the upstream's end, so before the pipe ends the response: in time for addTrailers. */
  private upstreamTrailers(trailers: IncomingHttpHeaders): void {
    this.grpcStatus = grpcStatusOf(trailers, 200);
    if (!this.client.destroyed) this.res.addTrailers(passedHeaders(trailers));
  }

  private upstreamClosed(): void {
    if (this.done) return;
    const upstream = this.upstream as ClientHttp2Stream;
    const client = this.client;
    if (this.grpcStatus !== null) {
      this.finish(grpcStatusAsHttp(this.grpcStatus));
      return;
    }
    // Closed without a status: reset, or the session died under it.
    if (!this.res.headersSent) {
      this.fail(`the instance closed the call (HTTP/2 code ${upstream.rstCode ?? '?'})`);
      return;
    }
    this.countFailure(`the instance reset the call mid-stream (HTTP/2 code ${upstream.rstCode ?? '?'})`);
    if (!client.destroyed) client.close(NGHTTP2_INTERNAL_ERROR);
    this.end();
  }

  /** The client cancelled (or its connection went): the call is cancelled upstream too. */
  private clientClosed(): void {
    if (this.done) return;
    const upstream = this.upstream;
    if (upstream !== null && !upstream.closed) upstream.close(NGHTTP2_CANCEL);
    if (upstream === null) {
      // Still connecting: nothing to wait for.
      this.end();
    }
  }

  /** A call ended with a gRPC status from the instance. */
  private finish(httpStatus: number): void {
    const pool = this.countedOn;
    if (pool !== null) {
      if (httpStatus >= 500) this.context.passiveHealth.failed(pool, this.target, `gRPC status ${this.grpcStatus}`);
      else if (pool.consecutiveFailures !== 0) this.context.passiveHealth.succeeded(pool);
    }
    const counters = this.target.binding.traffic.counters;
    counters.countStatus(httpStatus);
    counters.recordLatency(performance.now() - this.startedAt);
    this.end();
  }

  /** The proxy ends the call itself: UNAVAILABLE, as a trailers-only answer, so the client may retry. */
  private fail(detail: string): void {
    this.countFailure(detail);
    const client = this.client;
    if (!client.destroyed && !this.res.headersSent) {
      this.res.writeHead(200, { 'content-type': 'application/grpc' });
      this.res.addTrailers({
        'grpc-status': String(GRPC_UNAVAILABLE),
        'grpc-message': 'The service is not available right now.',
      });
      this.res.end();
    } else if (!client.destroyed) client.close(NGHTTP2_INTERNAL_ERROR);
    this.end();
  }

  private countFailure(detail: string): void {
    this.target.binding.traffic.counters.errors++;
    const pool = this.countedOn;
    if (pool !== null) this.context.passiveHealth.failed(pool, this.target, detail);
    this.context.logger?.warn(
      { service: this.target.service, upstream: this.target.upstreams[this.index]?.id, detail },
      'gRPC call failed',
    );
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.leaveUpstream();
    this.target.binding.traffic.requestEnded();
  }

  private leaveUpstream(): void {
    const pool = this.countedOn;
    if (pool === null) return;
    this.countedOn = null;
    pool.inFlight--;
  }
}

/**
 * The upstream stream's head: the client's method and path, `:authority`
 * from the Host the proxy forwards, and the forwarded headers in HTTP/2
 * form (lower case, one value per name; `te: trailers` as gRPC requires).
 */
function upstreamRequestHeaders(req: Http2ServerRequest, headers: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {
    ':method': req.method,
    ':path': req.url,
    ':scheme': 'http',
  };
  for (let i = 0; i < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    const value = headers[i + 1] as string;
    if (name === 'host') {
      out[':authority'] ??= value;
      continue;
    }
    const previous = out[name];
    out[name] = previous === undefined ? value : `${String(previous)}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  // The hop-by-hop pass drops TE; gRPC servers want `te: trailers` (the only TE value HTTP/2 allows).
  if (req.headers.te === 'trailers') out.te = 'trailers';
  return out;
}

/** What a trailers-only answer carries in its head that belongs in trailers (the call's status). */
const STATUS_FIELDS = ['grpc-status', 'grpc-message', 'grpc-status-details-bin'] as const;

/** An HTTP/2 head or trailer block without its pseudo-headers, to pass on. */
function passedHeaders(head: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(head)) {
    if (name.charCodeAt(0) === 0x3a || value === undefined) continue;
    out[name] = value;
  }
  return out;
}

/** The call's gRPC status; a head that is not gRPC at all counts by its HTTP status (UNKNOWN when not 200). */
function grpcStatusOf(headers: IncomingHttpHeaders, httpStatus: number): number {
  const value = Number(headers['grpc-status']);
  if (Number.isInteger(value) && value >= 0) return value;
  return httpStatus === 200 ? 0 : 2;
}

function describe(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}

function noop(): void {}
