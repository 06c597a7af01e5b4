import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Http2SecureServer, Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { RouteTable, type ServiceEntry, type TargetEntry } from '../route-table.js';
import { answerHttp01 } from './acme-http01.js';
import { goesToCanary, type CanaryChoice } from './canary-choice.js';
import {
  bodyTooLarge,
  failUnexpectedly,
  unroutableTarget,
  http2Required,
  invalidHost,
  misdirected,
  noActiveRelease,
  noHealthyUpstream,
  noRouteForHost,
  unroutablePath,
  sendErrorOnSocket,
  sendErrorResponse,
  sendMaintenanceOnSocket,
  sendMaintenanceResponse,
  upstreamsBusy,
} from './error-response.js';
import { buildUpstreamRequestHeaders, type RequestHeadFacts } from './forwarded-headers.js';
import { crossedEdge, MISDIRECTED } from './https-edge.js';
import { strippedTarget } from './path-prefix.js';
import { originFormTarget } from './request-target.js';
import type { ProxyContext } from './proxy-context.js';
import { ProxyExchange } from './proxy-exchange.js';
import type { ListenAddress } from './proxy-listeners.js';
import type { TargetBinding } from './release-traffic.js';
import { declaredLength } from './request-body.js';
import { notFullAfter } from './retry-choice.js';
import type { TrustedPeers } from './trusted-peers.js';
import type { UpstreamPool } from './upstream-pool.js';
import { WebSocketTunnel } from './websocket-tunnel.js';
import { http1RawHeaders, http2HasBody, isHttp2 } from './h2-request-headers.js';
import { GrpcExchange } from './grpc-exchange.js';

/**
 * The proxy's request path: every request and upgrade a listener takes is
 * routed by the current table to an instance of its service's release, or
 * answered here (an ACME HTTP-01 token, the HTTPS edge, maintenance, the
 * proxy's own errors). ProxyRouter makes it once and sets `table`,
 * `http01` and `retiring` in place. Everything a request reads is a field
 * of this object, one step from `this`, and nothing here allocates a
 * closure per request: the proxy's CPU per request is benchmarked
 * (bench/proxy-bench.ts).
 */
export class RequestRouting {
  /** The table requests are routed by: a route change swaps the whole table (see ProxyRouter). */
  table: RouteTable<TargetBinding> = new RouteTable<TargetBinding>([]);
  /** HTTP-01 tokens → key authorizations of ACME orders under way (`setAcmeChallenges`). */
  http01 = new Map<string, string>();
  /** Set by `ProxyRouter.retire`: every response closes its client connection. */
  retiring = false;
  /** The context's, copied: read on every request. */
  private readonly outOfRotation: ReadonlySet<string>;
  private readonly logger: Logger | undefined;
  /** Scratch object filled by the header pass; only read synchronously right after. */
  private readonly facts: RequestHeadFacts = {
    host: undefined,
    hostValid: true,
    hasBody: false,
    trustedForwardedFor: undefined,
  };
  /** Scratch object of the canary choice, same rule. */
  private readonly canaryChoice: CanaryChoice = { setCookie: null };

  /**
   * `redirectHttp`: plain requests for a host that has a certificate get
   * 308 to the TLS listener, at its address in `listeners`.
   */
  constructor(
    private readonly context: ProxyContext,
    private readonly trustedPeers: TrustedPeers,
    private readonly redirectHttp: boolean,
    private readonly listeners: { readonly tlsAddress: ListenAddress | null },
  ) {
    this.outOfRotation = context.outOfRotation;
    this.logger = context.logger;
  }

  /** Routes the requests and upgrades of one listener (`secure`: the TLS one). */
  listenTo(server: Server | Http2SecureServer, secure: boolean): void {
    // Node's own clientError handling stays: it answers malformed requests with 400/431/408.
    const onRequest = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void => {
      // The HTTP/2 compatibility objects carry what the proxy reads (url, method, headers, a readable body, a
      // response with writeHead/write/end/'drain'/'close'); headers are read from the HTTP/1.1 form made here.
      const h2 = secure && isHttp2(req);
      const request = req as IncomingMessage;
      const response = res as ServerResponse;
      try {
        if (h2) this.handleRequest(request, response, true, http1RawHeaders(req.rawHeaders), http2HasBody(req));
        else this.handleRequest(request, response, secure, request.rawHeaders, null);
      } catch (error) {
        failUnexpectedly(error, request, response, this.logger);
      }
    };
    server.on('request', onRequest);
    // `Expect: 100-continue`: without this listener Node sends 100 Continue before the request is routed, so
    // a client told to go ahead sent a body over max_body (or to a 404, a redirect, maintenance) only to get
    // the refusal after it. Here 100 goes out only once the request is on its way to a release; an answer the
    // proxy makes itself is final, and the client never sends the body (RFC 9110 §10.1.1).
    server.on(
      'checkContinue',
      (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
        onRequest(req, res);
        if (!res.headersSent && !res.writableEnded) res.writeContinue();
      },
    );
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.handleUpgrade(req, socket, head, secure);
      } catch (error) {
        failUnexpectedly(error, req, socket, this.logger);
      }
    });
  }

  /**
   * `rawHeaders` is the request's head in HTTP/1.1 form (for HTTP/2, see
   * http1RawHeaders); `h2Body` is null for HTTP/1.1, else whether the
   * HTTP/2 stream carries a body (it need not declare a length).
   */
  private handleRequest(
    req: IncomingMessage,
    res: ServerResponse,
    secure: boolean,
    rawHeaders: readonly string[],
    h2Body: boolean | null,
  ): void {
    const startedAt = performance.now();
    // A retiring generation answers with `Connection: close`: the client's next request goes to the new one.
    if (this.retiring) res.shouldKeepAlive = false;
    const facts = this.facts;
    const peer = req.socket.remoteAddress;
    const headers = buildUpstreamRequestHeaders(
      rawHeaders,
      peer,
      secure ? 'https' : 'http',
      this.trustedPeers.trusts(peer),
      facts,
    );
    if (h2Body !== null) facts.hasBody = h2Body;
    // Before anything is chosen by the Host: the app must not read another name than the one that routed it.
    if (!facts.hostValid) {
      sendErrorResponse(res, rawHeaders, invalidHost(facts.host), this.logger);
      return;
    }
    if (!this.originForm(req, facts.host)) {
      sendErrorResponse(res, rawHeaders, unroutableTarget(req.url), this.logger);
      return;
    }
    // An ACME HTTP-01 validation, whatever the host (an order may run before the host has a service routed).
    if (!secure && this.http01.size > 0 && answerHttp01(this.http01, req, res)) return;
    const entry = this.table.lookup(facts.host, req.url);
    const strip = this.table.stripLength;
    const routedPath = this.table.routedPath;
    if (entry === undefined) {
      const error = this.table.badPath ? unroutablePath(req.url) : noRouteForHost(facts.host);
      sendErrorResponse(res, rawHeaders, error, this.logger);
      return;
    }
    const edge = entry.tls === secure ? null : crossedEdge(entry, secure, facts.host, req.url, this.redirectPort);
    if (edge === MISDIRECTED) {
      sendErrorResponse(res, rawHeaders, misdirected(entry.service), this.logger);
      return;
    }
    if (edge !== null) {
      res.writeHead(308, { location: edge, 'content-length': '0' });
      res.end();
      return;
    }
    // Checked before the release: a service in maintenance answers even with nothing routed or healthy.
    // The allow list names clients, so behind a trusted balancer it is matched against the one it forwards for.
    if (entry.maintenance !== null && !entry.maintenance.allows(this.clientOf(peer))) {
      sendMaintenanceResponse(res, rawHeaders, entry.maintenance);
      return;
    }
    const maxBody = entry.maxBodyBytes;
    if (maxBody !== null && facts.hasBody && declaredLength(rawHeaders) > maxBody) {
      // Declared too large: answered before a byte goes on; the body is not read (the connection closes after).
      res.shouldKeepAlive = false;
      sendErrorResponse(res, rawHeaders, bodyTooLarge(entry.service, maxBody), this.logger);
      return;
    }
    if (strip > 0) req.url = strippedTarget(req.url ?? '/', strip, routedPath);
    let target = entry.target;
    let setCookie: string | null = null;
    if (entry.canary !== null) {
      target = this.canaryOrStable(entry, req, rawHeaders);
      setCookie = this.canaryChoice.setCookie;
    }
    if (target === null) {
      sendErrorResponse(res, rawHeaders, noActiveRelease(entry.service), this.logger);
      return;
    }
    const counters = target.binding.traffic.counters;
    counters.requests++;
    let index = target.pick(this.outOfRotation);
    if (index < 0) {
      counters.errors++;
      sendErrorResponse(res, rawHeaders, noHealthyUpstream(entry.service), this.logger);
      return;
    }
    if ((target.binding.pools[index] as UpstreamPool).isFull) {
      index = notFullAfter(target, index, this.outOfRotation);
      if (index < 0) {
        counters.errors++;
        sendErrorResponse(res, rawHeaders, upstreamsBusy(entry.service), this.logger);
        return;
      }
    }
    if (entry.grpc) {
      if (h2Body === null) {
        counters.errors++;
        sendErrorResponse(res, rawHeaders, http2Required(entry.service), this.logger);
        return;
      }
      const call = req as unknown as Http2ServerRequest;
      const answer = res as unknown as Http2ServerResponse;
      new GrpcExchange(call, answer, target, index, headers, this.context, startedAt).start();
      return;
    }
    new ProxyExchange(
      req,
      res,
      target,
      index,
      headers,
      facts.hasBody,
      this.context,
      startedAt,
      setCookie,
      secure ? entry.hsts : null,
      maxBody,
    ).start();
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): void {
    socket.on('error', noop);
    const facts = this.facts;
    const peer = req.socket.remoteAddress;
    const headers = buildUpstreamRequestHeaders(
      req.rawHeaders,
      peer,
      secure ? 'https' : 'http',
      this.trustedPeers.trusts(peer),
      facts,
    );
    if (!facts.hostValid) {
      sendErrorOnSocket(socket, req.rawHeaders, invalidHost(facts.host), this.logger);
      return;
    }
    if (!this.originForm(req, facts.host)) {
      sendErrorOnSocket(socket, req.rawHeaders, unroutableTarget(req.url), this.logger);
      return;
    }
    const entry = this.table.lookup(facts.host, req.url);
    const strip = this.table.stripLength;
    const routedPath = this.table.routedPath;
    if (entry === undefined) {
      const error = this.table.badPath ? unroutablePath(req.url) : noRouteForHost(facts.host);
      sendErrorOnSocket(socket, req.rawHeaders, error, this.logger);
      return;
    }
    const edge = entry.tls === secure ? null : crossedEdge(entry, secure, facts.host, req.url, this.redirectPort);
    if (edge === MISDIRECTED) {
      sendErrorOnSocket(socket, req.rawHeaders, misdirected(entry.service), this.logger);
      return;
    }
    if (edge !== null) {
      // A WebSocket client does not follow it, but it learns where the service is, and nothing goes out in clear.
      socket.end(
        `HTTP/1.1 308 Permanent Redirect\r\nLocation: ${edge}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      return;
    }
    if (entry.maintenance !== null && !entry.maintenance.allows(this.clientOf(peer))) {
      sendMaintenanceOnSocket(socket, req.rawHeaders, entry.maintenance);
      return;
    }
    if (strip > 0) req.url = strippedTarget(req.url ?? '/', strip, routedPath);
    // An upgrade follows the same choice as a request; a made-up cookie id is not sent (a 101 is not ours to edit).
    const target = entry.canary === null ? entry.target : this.canaryOrStable(entry, req, req.rawHeaders);
    if (target === null) {
      sendErrorOnSocket(socket, req.rawHeaders, noActiveRelease(entry.service), this.logger);
      return;
    }
    const index = target.pick(this.outOfRotation);
    if (index < 0) {
      target.binding.traffic.counters.requests++;
      target.binding.traffic.counters.errors++;
      sendErrorOnSocket(socket, req.rawHeaders, noHealthyUpstream(entry.service), this.logger);
      return;
    }
    new WebSocketTunnel(socket, head, req, headers, target, index, this.context).start();
  }

  /**
   * The target of a request to a service in canary: the canary when the
   * request goes there and one of its instances is healthy, else the stable
   * release (a canary that is down must not fail requests). Without a stable
   * release the canary answers, with its own 503 when it has no instance.
   */
  private canaryOrStable(
    entry: ServiceEntry<TargetBinding>,
    req: IncomingMessage,
    rawHeaders: readonly string[],
  ): TargetEntry<TargetBinding> | null {
    const canary = entry.canary;
    if (canary === null) return entry.target;
    if (!goesToCanary(canary, rawHeaders, this.clientOf(req.socket.remoteAddress), this.canaryChoice))
      return entry.target;
    return entry.target === null || canary.target.hasHealthyUpstream(this.outOfRotation) ? canary.target : entry.target;
  }

  /** The request's client (clientAddressOf), from the header pass just made: canaries and allow lists go by it. */
  private clientOf(peer: string | undefined): string | undefined {
    return clientAddressOf(peer, this.facts.trustedForwardedFor, this.trustedPeers);
  }

  /**
   * Puts the request's target in origin form (request-target.ts) before it is routed, stripped or forwarded;
   * false when it cannot be. The usual `/path` costs one character test.
   */
  private originForm(req: IncomingMessage, host: string | undefined): boolean {
    const url = req.url;
    if (url === undefined || url.charCodeAt(0) === 0x2f) return true;
    const origin = originFormTarget(url, host);
    if (origin === null) return false;
    req.url = origin;
    return true;
  }

  /** The TLS listener's port, where plain requests for a host with a certificate go (`redirectHttp`); else null. */
  private get redirectPort(): number | null {
    return this.redirectHttp ? (this.listeners.tlsAddress?.port ?? 443) : null;
  }
}

function noop(): void {}

/**
 * The client a canary assigns by address (`stickiness: { by: ip }`, or a
 * missing stickiness header), and a maintenance allow list lets through: the
 * socket's peer, unless that peer is a
 * trusted proxy (`server.trusted_proxies`, a load balancer in front of us).
 * Then every client would arrive from the balancer's few addresses and land
 * on one side together, whatever the weight, so the client is the nearest
 * address in the balancer's X-Forwarded-For that is not itself trusted
 * (walked from the right, as the proxies appended them). An untrusted
 * peer's X-Forwarded-For is never read: a client must not pick its side.
 */
export function clientAddressOf(
  peer: string | undefined,
  trustedForwardedFor: string | undefined,
  trustedPeers: TrustedPeers,
): string | undefined {
  if (trustedForwardedFor === undefined) return peer;
  const hops = trustedForwardedFor.split(',');
  let nearest: string | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = withoutPort((hops[i] as string).trim());
    if (hop === '') continue;
    nearest = hop;
    if (!trustedPeers.trusts(hop)) return hop;
  }
  return nearest ?? peer;
}

/** `203.0.113.7:5501` and `[2001:db8::1]:5501` (some balancers add the client's port) → the address alone. */
function withoutPort(hop: string): string {
  if (hop.startsWith('[')) {
    const end = hop.indexOf(']');
    return end > 0 ? hop.slice(1, end) : hop;
  }
  const colon = hop.indexOf(':');
  return colon > 0 && hop.indexOf(':', colon + 1) === -1 ? hop.slice(0, colon) : hop;
}
