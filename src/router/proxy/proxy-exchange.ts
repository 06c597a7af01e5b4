import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { TargetEntry } from '../route-table.js';
import { bodyTooLarge, sendErrorResponse, upstreamFailed } from './error-response.js';
import type { ProxyContext } from './proxy-context.js';
import type { TargetBinding } from './release-traffic.js';
import { retryTarget } from './retry-choice.js';
import { RequestBody } from './request-body.js';
import { clientResponseHeaders } from './response-headers.js';
import { isConnectErrorCode, type UpstreamPool } from './upstream-pool.js';

const kExchange = Symbol('cutover.exchange');

interface ResponseWithExchange extends ServerResponse {
  [kExchange]?: ProxyExchange | null;
}

const CLIENT_GONE = new Error('client closed the connection');

/**
 * One proxied HTTP request: sent to an upstream of the target it was routed
 * to when it arrived (a later switch does not move it), the response head and
 * body streamed straight to the client response with backpressure.
 *
 * It is its own undici dispatch handler. It uses undici's raw-header handler
 * methods (onConnect/onHeaders/onData/onComplete/onError): undici 7 runs them
 * natively, while the newer controller methods wrap every request in two more
 * objects and parse the headers into an object we would only turn back into a
 * list. Event listeners are shared module functions that find the exchange
 * through a symbol on the response, so a request allocates no closures.
 *
 * When it is sent again (never twice to an instance, never after the
 * response head went out, never for a client that left):
 * - nothing of it was written (a refused, reset or timed-out connect, or a
 *   kept-alive connection that closed before the body's first chunk went
 *   out; see `nothingWritten`): to the next instance of the same release in
 *   rotation, whatever the method, body included; when none of its release
 *   is left in the route (a drain cut it while it waited for a connection),
 *   to the service's stable release, once (`tryStableRelease`);
 * - the connection closed before any answer after the request went out: an
 *   idempotent request without a body (GET, HEAD, OPTIONS), once; anything
 *   else may have been acted on and gets a 502 rather than a duplicate.
 * Every failed attempt counts towards its instance's passive health, so an
 * instance that keeps refusing is ejected and stops costing a retry.
 */
export class ProxyExchange implements Dispatcher.DispatchHandler {
  private readonly req: IncomingMessage;
  private readonly res: ResponseWithExchange;
  /** Where it was routed on arrival; another release's only when that one dropped it unsent (`tryStableRelease`). */
  private target: TargetEntry<TargetBinding>;
  private readonly context: ProxyContext;
  private readonly headers: string[];
  private readonly hasBody: boolean;
  private readonly startedAt: number;
  /** A sticky cookie the proxy assigned this client (canary by cookie), added to the response head; usually null. */
  private readonly setCookie: string | null;
  /** Strict-Transport-Security for an HTTPS answer of a service that sets it (unless the app sent its own); else null. */
  private readonly hsts: string | null;
  private first: number;
  private index: number;
  /** The pool this request is counted on (its `inFlight`), null once uncounted: see `leaveUpstream`. */
  private countedOn: UpstreamPool | null = null;
  /**
   * undici's abort for the current attempt, set by onConnect: undici calls it
   * when it gives the request to a connection, just before it writes anything.
   * Still null when an attempt fails: that attempt never reached a connection.
   */
  private abortUpstream: ((err?: Error) => void) | null = null;
  /** What undici reads the client's body from in the current attempt; null without a body (see RequestBody). */
  private body: RequestBody | null = null;
  private resumeUpstream: (() => void) | null = null;
  private done = false;
  private clientGone = false;
  /** Set once the request was sent again after a connection closed under it: never twice. */
  private retriedAfterReset = false;
  /** Set once the request moved to the service's stable release: never twice. */
  private moved = false;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    target: TargetEntry<TargetBinding>,
    index: number,
    headers: string[],
    hasBody: boolean,
    context: ProxyContext,
    startedAt: number,
    setCookie: string | null,
    hsts: string | null = null,
    /** The service's `max_body`, for a body of undeclared size (a declared one over it never gets here). */
    private readonly maxBodyBytes: number | null = null,
  ) {
    this.req = req;
    this.res = res;
    this.target = target;
    this.context = context;
    this.headers = headers;
    this.hasBody = hasBody;
    this.startedAt = startedAt;
    this.setCookie = setCookie;
    this.hsts = hsts;
    this.first = index;
    this.index = index;
  }

  start(): void {
    this.target.binding.traffic.requestStarted();
    this.res[kExchange] = this;
    this.res.on('close', onResponseClose);
    this.dispatch();
  }

  private dispatch(): void {
    const upstream = this.target.binding.pools[this.index];
    if (upstream === undefined) {
      this.onError(new Error(`no pool for upstream #${this.index}`));
      return;
    }
    const req = this.req;
    upstream.inFlight++;
    this.countedOn = upstream;
    this.abortUpstream = null;
    let body: RequestBody | null = null;
    if (this.hasBody) {
      // A new one per attempt: undici destroys the one of a failed attempt (after onError, which retries).
      this.body?.release(false);
      body = this.body = new RequestBody(req, this.maxBodyBytes);
    }
    upstream.pool.dispatch(
      {
        path: req.url ?? '/',
        method: req.method as Dispatcher.HttpMethod,
        headers: this.headers,
        body,
      },
      this,
    );
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.clientGone) {
      abort(CLIENT_GONE);
      return;
    }
    this.abortUpstream = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx informational heads are not relayed (Node answers 100-continue to the client itself).
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    const pool = this.countedOn;
    if (pool !== null) {
      if (statusCode >= 500) this.context.passiveHealth.failed(pool, this.target, `status ${statusCode}`);
      else if (pool.consecutiveFailures !== 0) this.context.passiveHealth.succeeded(pool);
    }
    this.target.binding.traffic.counters.countStatus(statusCode);
    const headers = clientResponseHeaders(rawHeaders);
    // Appended, not set: the application's own Set-Cookie headers stay.
    if (this.setCookie !== null) headers.push('set-cookie', this.setCookie);
    if (this.hsts !== null && !hasHeader(headers, 'strict-transport-security'))
      headers.push('strict-transport-security', this.hsts);
    // HTTP/2 has no reason phrase (Node warns when given one).
    if (statusText.length > 0 && this.req.httpVersionMajor !== 2) this.res.writeHead(statusCode, statusText, headers);
    else this.res.writeHead(statusCode, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    // Pause the upstream until the client has taken what is buffered.
    if (!this.res.destroyed) this.res.once('drain', onResponseDrain);
    return false;
  }

  onComplete(): void {
    if (this.done) return;
    this.done = true;
    this.leaveUpstream();
    // Answered before undici took the whole body (it then resets the connection and drops the body): discard the rest.
    this.body?.release(true);
    this.res.end();
    const traffic = this.target.binding.traffic;
    traffic.counters.recordLatency(performance.now() - this.startedAt);
    traffic.requestEnded();
  }

  onError(err: Error): void {
    if (this.done) return;
    const code = (err as { code?: unknown }).code;
    const body = this.body;
    // A client that left (or whose upload broke) is not the instance's fault; nor is a pool the proxy closed under
    // the request (its release drained, its instance out of the route); anything else (connect error, timeout,
    // reset) is.
    const clientGone = this.clientGone || (body !== null && (body.sourceFailed || body.tooLarge));
    const dropped = this.countedOn?.isClosed === true;
    if (!clientGone && !dropped && this.countedOn !== null)
      this.context.passiveHealth.failed(this.countedOn, this.target, typeof code === 'string' ? code : err.message);
    if (!clientGone && !this.res.headersSent && (dropped || isConnectErrorCode(code))) {
      if (this.nothingWritten()) {
        // Not a byte of it reached this instance: another one of the same release takes it, whatever the method;
        // when its release has none left in the route, the service's stable release does.
        if (this.tryNextInstance() || this.tryStableRelease()) return;
      } else if (
        isConnectErrorCode(code) &&
        !this.retriedAfterReset &&
        body === null &&
        isIdempotent(this.req.method) &&
        isClosedBeforeAnswer(code)
      ) {
        // The connection closed before any answer, after the request went out (an instance shutting its port, a
        // kept-alive connection it closed as the request arrived): it may have been read. Only an idempotent request
        // without a body may be sent again (RFC 9110, 9.2.2), once.
        this.retriedAfterReset = true;
        if (this.tryNextInstance()) return;
      }
    }
    // Not sent again: what undici did not take of the client's body is read and discarded, so the client connection
    // can carry its next request once the answer is out (before, undici destroyed the client request and left it stuck).
    body?.release(true);
    this.done = true;
    this.leaveUpstream();
    const res = this.res;
    const traffic = this.target.binding.traffic;
    if (body?.tooLarge === true && !res.headersSent && !res.destroyed) {
      // The rest of an oversized upload is not read: the connection closes after the answer.
      res.shouldKeepAlive = false;
      traffic.counters.countStatus(413);
      sendErrorResponse(
        res,
        this.req.rawHeaders,
        bodyTooLarge(this.target.service, this.maxBodyBytes ?? 0),
        this.context.logger,
      );
    } else if (!res.headersSent && !res.destroyed) {
      traffic.counters.errors++;
      const upstream = this.target.upstreams[this.index];
      sendErrorResponse(
        res,
        this.req.rawHeaders,
        upstreamFailed(this.target.service, upstream?.id ?? '?', err),
        this.context.logger,
      );
    } else if (!res.destroyed) {
      // The head already went out: cut the connection so the client sees a broken response, not a short one.
      if (!this.clientGone) {
        this.context.logger?.warn(
          { service: this.target.service, upstream: this.target.upstreams[this.index]?.id, err: describe(err) },
          'response cut: the upstream failed mid-body',
        );
      }
      res.destroy();
    }
    traffic.requestEnded();
  }

  /** The client connection closed before the response was complete: stop the upstream request. */
  clientClosed(): void {
    if (this.done) return;
    this.clientGone = true;
    if (this.abortUpstream !== null) this.abortUpstream(CLIENT_GONE);
  }

  resume(): void {
    this.resumeUpstream?.();
  }

  /**
   * True when the failed attempt provably wrote nothing to its upstream:
   * - onConnect never ran (abortUpstream null): undici failed the request
   *   before giving it to a connection — a refused or timed-out connect, a
   *   reset during the connect — and writes nothing before onConnect
   *   (client-h1.js writeH1). A stream body is untouched then too: undici reads
   *   it only from writeH1 on.
   * - a body that gave undici nothing: undici writes a stream body's request
   *   head with its first chunk or at its end, never before (AsyncWriter), so a
   *   kept-alive connection that closed or reset before our first chunk was
   *   sent nothing.
   * A request without a body is written whole right after onConnect: once
   * onConnect ran, whether the instance read it cannot be known.
   */
  private nothingWritten(): boolean {
    const body = this.body;
    if (this.abortUpstream === null) return body === null || !body.handedOver;
    return body !== null && !body.handedOver;
  }

  private tryNextInstance(): boolean {
    const next = retryTarget(this.target, this.first, this.index, this.context.outOfRotation);
    if (next < 0) return false;
    this.leaveUpstream();
    this.index = next;
    this.dispatch();
    return true;
  }

  /**
   * Sends a request none of whose bytes left to the service's stable
   * release in the current route, once, when that is another release than
   * the one it arrived on: its release was drained or taken out of the route
   * while the request waited for a connection (a drain that timed out, an
   * instance Kubernetes stopped before the route dropped it and whose
   * address no longer answers). Before, such a request got a 502, though
   * it never reached a backend and the service had instances to answer it.
   */
  private tryStableRelease(): boolean {
    if (this.moved) return false;
    const stable = this.context.stableTarget(this.target.service);
    if (stable === null || stable.binding.traffic === this.target.binding.traffic) return false;
    const index = stable.pick(this.context.outOfRotation);
    if (index < 0 || stable.binding.pools[index]?.isClosed !== false) return false;
    this.moved = true;
    this.leaveUpstream();
    this.target.binding.traffic.requestEnded();
    this.target = stable;
    stable.binding.traffic.counters.requests++;
    stable.binding.traffic.requestStarted();
    this.first = index;
    this.index = index;
    this.dispatch();
    return true;
  }

  /**
   * Uncounts the request from its upstream: when it ends (complete, failed,
   * client gone: all end in onComplete or onError) or moves to another
   * instance. Clearing `countedOn` makes a second call a no-op.
   */
  private leaveUpstream(): void {
    const upstream = this.countedOn;
    if (upstream === null) return;
    this.countedOn = null;
    upstream.inFlight--;
  }
}

function onResponseClose(this: ResponseWithExchange): void {
  const exchange = this[kExchange];
  if (exchange === undefined || exchange === null) return;
  this[kExchange] = null;
  exchange.clientClosed();
}

function onResponseDrain(this: ResponseWithExchange): void {
  this[kExchange]?.resume();
}

function describe(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${err.message} (${code})` : err.message;
}

/** Closed by the other side before a response byte arrived: undici's "other side closed", or a reset. */
function isClosedBeforeAnswer(code: unknown): boolean {
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}

function isIdempotent(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

/** True when a flat [name, value, ...] list has a header of this (lower-case) name. */
function hasHeader(headers: readonly string[], lowerName: string): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return true;
  }
  return false;
}
