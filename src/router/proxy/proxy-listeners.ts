import { createServer, type Server } from 'node:http';
import type { Http2SecureServer, Http2Session } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { CutoverError } from '../../core/errors.js';
import type { ProxyListenOptions } from './proxy-listen-options.js';
import { isAcmeValidation, type TlsContexts } from './tls-contexts.js';
import { createTlsServer } from './tls-server.js';

/** A listening socket's native handle, as passed between processes (see `ProxyRouter.listeningHandle`). */
export type ListeningHandle = object & { readonly listening?: never };

/** How a proxy generation that handed its listener over winds down (see `ProxyRouter.retire`). */
export interface RetireOptions {
  /** Idle kept-alive client connections stay open this long, so a request already on its way still gets an answer. */
  idleGraceMs: number;
  /** WebSockets and other upgraded connections get this long before they are closed (WebSocket close 1001). */
  upgradeDrainMs: number;
  /** After this, whatever is still open is cut. */
  timeoutMs: number;
}

/** Where a listener listens. */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * How often Node looks for requests over the head or request timeout. Its
 * default (30 s) would let a slow head live three times the 10 s limit.
 */
const CLIENT_TIMEOUT_CHECK_MS = 1_000;

/** While a retiring proxy waits for its connections to end, how often it closes the ones that went idle. */
const RETIRE_IDLE_SWEEP_MS = 1_000;

/** How long the full stop waits for client connections to close after it closed them, before it cuts them. */
const SHUTDOWN_GRACE_MS = 1_000;

/**
 * The client side of one proxy: the plain HTTP listener and, with `https`,
 * the TLS one; the client connections and HTTP/2 sessions they hold; how
 * they start (bind, or accept on a socket another process hands over) and
 * how they end (a handover's wind-down, the full stop). What a request gets
 * is the router's business: it listens to 'request' and 'upgrade' on `all`.
 */
export class ProxyListeners {
  readonly server: Server;
  /** The TLS listener, when `https` is set: HTTP/2 and HTTP/1.1 (by ALPN), the same routing, by the same table. */
  readonly tlsServer: Http2SecureServer | null;
  /** The listeners: plain HTTP, and TLS when set. */
  readonly all: (Server | Http2SecureServer)[];
  /** Open HTTP/2 client sessions: a handover sends each a GOAWAY, so clients move on with no stream lost. */
  private readonly h2Sessions = new Set<Http2Session>();
  /**
   * Every open client connection, plain or TLS, upgraded ones included (the
   * HTTP server stops tracking a socket once it is upgraded): the full stop
   * cuts what is still open after a grace, so `close` always ends.
   */
  private readonly clientSockets = new Set<net.Socket>();
  private readonly tlsAddressWanted: ListenAddress | null;
  private listening: ListenAddress | null = null;
  private tlsListening: ListenAddress | null = null;
  /** Set by `retire`: an HTTP/2 session that opens now is sent a GOAWAY at once. */
  private retiring = false;
  private readonly logger: Logger | undefined;

  constructor(options: ProxyListenOptions, tlsContexts: TlsContexts) {
    this.logger = options.logger;
    const headersTimeout = options.clientHeadersTimeoutMs ?? 10_000;
    const requestTimeout = options.clientRequestTimeoutMs ?? 300_000;
    const httpOptions = {
      noDelay: true,
      keepAliveTimeout: options.clientKeepAliveTimeoutMs ?? 65_000,
      headersTimeout,
      // Node refuses a head timeout longer than the request timeout; the head is part of the request anyway.
      requestTimeout: requestTimeout === 0 ? 0 : Math.max(requestTimeout, headersTimeout),
      connectionsCheckingInterval: Math.min(CLIENT_TIMEOUT_CHECK_MS, headersTimeout),
    };
    this.server = createServer(httpOptions);
    this.tlsAddressWanted = options.https ?? null;
    this.tlsServer = options.https === undefined ? null : createTlsServer(tlsContexts, httpOptions, headersTimeout);
    this.all = this.tlsServer === null ? [this.server] : [this.server, this.tlsServer];
    for (const server of this.all) {
      // Past the limit Node closes a new connection as soon as it is accepted: cheaper than any answer during a flood.
      server.maxConnections = options.maxConnections ?? 10_000;
      server.on('connection', (socket: net.Socket) => {
        this.clientSockets.add(socket);
        socket.once('close', () => this.clientSockets.delete(socket));
      });
    }
    // A failed handshake (no certificate for the name, a scanner) is the client's business; the socket is closed.
    this.tlsServer?.on('tlsClientError', noop);
    // An ACME TLS-ALPN-01 validation is over once the handshake is: it never speaks HTTP (RFC 8737).
    this.tlsServer?.on('secureConnection', (socket: TLSSocket) => {
      if (isAcmeValidation(socket)) socket.end();
    });
    this.tlsServer?.on('session', (session: Http2Session) => {
      this.h2Sessions.add(session);
      session.once('close', () => this.h2Sessions.delete(session));
      // A retiring generation takes no new streams on a session that opens now: the client moves to the new one.
      if (this.retiring) session.close();
    });
  }

  /** Binds and accepts on host:port, and on the TLS listener's address when there is one. */
  async listenAt(host: string, port: number): Promise<void> {
    await this.acceptOn(this.server, (server, done) => server.listen(port, host, done));
    try {
      await this.listenTls();
    } catch (error) {
      this.server.close();
      throw error;
    }
  }

  /** Binds the TLS listener at its address (`https`); nothing without one. */
  async listenTls(): Promise<void> {
    const tlsServer = this.tlsServer;
    const at = this.tlsAddressWanted;
    if (tlsServer === null || at === null) return;
    this.tlsListening = await this.acceptOn(tlsServer, (server, done) => server.listen(at.port, at.host, done));
  }

  /**
   * Accepts on a listening socket another process holds too (passed over
   * IPC): the kernel gives each new connection to one of the processes
   * accepting on it, and the socket never stops listening while one does.
   * Synchronous up to the listen call, so a handle received in a message
   * starts being served before the event loop polls it again.
   */
  takeListener(handle: ListeningHandle): Promise<void> {
    return this.acceptOn(this.server, (server, done) => server.listen(handle, done)).then(() => undefined);
  }

  /** The same for the TLS listener's socket (passed in a message of its own: a message carries one handle). */
  async takeTlsListener(handle: ListeningHandle): Promise<void> {
    if (this.tlsServer === null) throw new CutoverError('INTERNAL', 'this proxy has no TLS listener');
    this.tlsListening = await this.acceptOn(this.tlsServer, (server, done) => server.listen(handle, done));
  }

  /**
   * The listening socket's native handle, to pass to another process
   * (`ChildProcess.send(message, handle)`). Not the server itself: sent as a
   * net.Server, Node has the receiver listen on it at once with a server of
   * its own, which can accept a connection before the receiver takes the
   * handle over, and with nobody on its 'connection' event that client
   * waits forever. A bare handle is listened on only by whoever takes it.
   */
  get listeningHandle(): ListeningHandle {
    return handleOf(this.server);
  }

  /** The TLS listener's socket, to pass along with `listeningHandle`; null without one. */
  get tlsListeningHandle(): ListeningHandle | null {
    return this.tlsServer === null ? null : handleOf(this.tlsServer);
  }

  /** Where the plain listener listens (the real port when 0 was asked for). */
  get address(): ListenAddress {
    if (this.listening === null) throw new CutoverError('INTERNAL', 'proxy is not listening');
    return this.listening;
  }

  /** Where the TLS listener listens, or null without one. */
  get tlsAddress(): ListenAddress | null {
    return this.tlsListening;
  }

  /**
   * The handover's wind-down (see `ProxyRouter.retire`): stops accepting,
   * sends every HTTP/2 session a GOAWAY, closes idle kept-alive connections
   * after `idleGraceMs` (then every second), and asks `upgrades` to close
   * theirs after `upgradeDrainMs`. Resolves true once no client connection
   * is left, false when `timeoutMs` passes first.
   */
  async retire(options: RetireOptions, upgrades: { goAwayUpgrades(): void }): Promise<boolean> {
    this.retiring = true;
    for (const session of this.h2Sessions) session.close();
    const servers = this.all;
    // net.Server's close, not http.Server's: that one also closes idle kept-alive connections at once.
    const ended = Promise.all(
      servers.map((server) => new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()))),
    );
    const closeIdle = (): void => {
      for (const server of servers) closeIdleConnections(server);
    };
    const timers: NodeJS.Timeout[] = [];
    timers.push(
      setTimeout(() => {
        closeIdle();
        timers.push(setInterval(closeIdle, RETIRE_IDLE_SWEEP_MS));
      }, options.idleGraceMs),
      setTimeout(() => upgrades.goAwayUpgrades(), options.upgradeDrainMs),
    );
    const finished = await Promise.race([ended.then(() => true), delay(options.timeoutMs, false)]);
    for (const timer of timers) clearTimeout(timer);
    return finished;
  }

  /**
   * The full stop's first half: stops listening and closes every client
   * connection (HTTP/2 sessions with a GOAWAY). The promise resolves once
   * the listeners are closed; hand it to `closed`.
   */
  close(): Promise<unknown> {
    const stopped = Promise.all(
      this.all.map(
        (server) =>
          new Promise<void>((resolve) => {
            // Never listening (a TLS listener of a proxy that failed to start): nothing to wait for.
            if (!server.listening) resolve();
            else server.close(() => resolve());
            closeAllConnections(server);
          }),
      ),
    );
    for (const session of this.h2Sessions) session.close();
    return stopped;
  }

  /** The full stop's second half: waits for `stopped` (from `close`), cutting after a grace what is still open. */
  async closed(stopped: Promise<unknown>): Promise<void> {
    // A socket neither side closed (a refused upgrade whose client keeps its end open) would hold close() forever.
    const ended = await Promise.race([stopped.then(() => true), delay(SHUTDOWN_GRACE_MS, false)]);
    if (!ended) {
      this.logger?.warn({ open: this.clientSockets.size }, 'proxy closing: cutting client connections still open');
      for (const socket of this.clientSockets) socket.destroy();
      await stopped;
    }
  }

  private async acceptOn<S extends net.Server>(
    server: S,
    listen: (server: S, done: () => void) => void,
  ): Promise<ListenAddress> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      listen(server, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as AddressInfo;
    const at = { host: bound.address, port: bound.port };
    if (server === (this.server as net.Server)) this.listening = at;
    this.logger?.info({ ...at, tls: server !== (this.server as net.Server) }, 'proxy listening');
    return at;
  }
}

function handleOf(server: net.Server): ListeningHandle {
  const handle = (server as unknown as { _handle: object | null })._handle;
  if (handle === null) throw new CutoverError('INTERNAL', 'the proxy is not listening');
  return handle;
}

/** Closes idle kept-alive HTTP/1.1 connections (the HTTP/2 listener's too, where Node offers it). */
function closeIdleConnections(server: Server | Http2SecureServer): void {
  const closeIdle = (server as Partial<Server>).closeIdleConnections;
  if (typeof closeIdle === 'function') closeIdle.call(server);
}

function closeAllConnections(server: Server | Http2SecureServer): void {
  const closeAll = (server as Partial<Server>).closeAllConnections;
  if (typeof closeAll === 'function') closeAll.call(server);
}

function noop(): void {}
