import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import { isCutoverError } from '../../core/errors.js';
import type { ServiceRoute } from '../index.js';
import type { InstanceEjectionEvent } from '../proxy/passive-health.js';
import { ProxyRouter } from '../proxy/proxy-router.js';
import {
  encodeLine,
  LineReader,
  PROTOCOL_VERSION,
  type ControlReply,
  type ControlRequest,
  type ProxyIdentity,
} from './control-protocol.js';
import { parseControlRequest } from './control-requests.js';
import type { ProxyProcessOptions } from './proxy-process-options.js';

/**
 * The proxy process: the embedded proxy (ProxyRouter) run on its own, so
 * that traffic outlives the controller. It holds the listening socket, the
 * routes, the drains, the WebSocket tunnels and the counters; the controller
 * programs it over the control socket and may come and go. When no
 * controller is connected the proxy serves its last routes as they are.
 */
export class ProxyDaemon {
  private readonly identity: Omit<ProxyIdentity, 'routeVersion' | 'routes'>;
  private readonly routes = new Map<string, ServiceRoute>();
  private routeVersion = 0;
  private readonly connections = new Set<net.Socket>();
  private stopping: Promise<void> | null = null;
  private readonly stoppedResolvers: (() => void)[] = [];
  /** Control requests served, by operation: logged at the stop. */
  private readonly served = new Map<string, number>();

  private constructor(
    private readonly proxy: ProxyRouter,
    private readonly control: net.Server,
    private readonly socketPath: string,
    options: ProxyProcessOptions,
    private readonly logger: Logger,
  ) {
    this.identity = {
      protocol: PROTOCOL_VERSION,
      pid: process.pid,
      generation: randomBytes(8).toString('hex'),
      startedAt: new Date().toISOString(),
      listen: proxy.address,
      optionsDigest: options.digest,
    };
  }

  /** Binds the proxy's port first (a port in use fails the start before any control socket exists), then the control socket. */
  static async start(socketPath: string, options: ProxyProcessOptions, logger: Logger): Promise<ProxyDaemon> {
    let daemon: ProxyDaemon | null = null;
    const proxy = await ProxyRouter.listen({
      ...options.listen,
      logger,
      onInstanceEjection: (event) => daemon?.broadcast(event),
    });
    const control = net.createServer({ allowHalfOpen: false });
    try {
      // A socket file left by a crashed proxy would make listen fail with EADDRINUSE.
      fs.rmSync(socketPath, { force: true });
      await new Promise<void>((resolve, reject) => {
        control.once('error', reject);
        // Owner-only from the first moment: the umask applies to the socket file listen creates.
        const umask = process.umask(0o177);
        try {
          control.listen(socketPath, () => {
            control.off('error', reject);
            resolve();
          });
        } finally {
          process.umask(umask);
        }
      });
    } catch (error) {
      await proxy.close();
      throw error;
    }
    daemon = new ProxyDaemon(proxy, control, socketPath, options, logger);
    control.on('connection', (socket) => daemon?.accept(socket));
    logger.info(
      { socket: socketPath, listen: proxy.address, generation: daemon.identity.generation },
      'proxy process ready',
    );
    return daemon;
  }

  get address(): { host: string; port: number } {
    return this.proxy.address;
  }

  /** Resolves once the proxy has stopped (a `stop` request or a signal). */
  stopped(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping === null) this.stoppedResolvers.push(resolve);
      else void this.stopping.then(resolve);
    });
  }

  /** Stops accepting, ends what is in flight and closes: a deliberate full stop (`cutover down`), never a controller restart. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info({ controlRequests: Object.fromEntries(this.served) }, 'proxy process stopping');
      await new Promise<void>((resolve) => this.control.close(() => resolve()));
      for (const socket of this.connections) socket.destroy();
      await this.proxy.close();
      fs.rmSync(this.socketPath, { force: true });
      for (const resolve of this.stoppedResolvers.splice(0)) resolve();
    })();
    return this.stopping;
  }

  private accept(socket: net.Socket): void {
    this.connections.add(socket);
    socket.setEncoding('utf8');
    const reader = new LineReader(
      (message) => void this.handle(socket, message),
      (reason) => {
        this.logger.warn({ reason }, 'control connection closed: bad input');
        socket.destroy();
      },
    );
    socket.on('data', (chunk: string) => reader.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.connections.delete(socket));
  }

  private async handle(socket: net.Socket, message: unknown): Promise<void> {
    const parsed = parseControlRequest(message);
    if (!parsed.ok) {
      this.reply(socket, { id: parsed.id, ok: false, error: { code: 'CONFIG_INVALID', message: parsed.message } });
      return;
    }
    const request = parsed.request;
    this.served.set(request.op, (this.served.get(request.op) ?? 0) + 1);
    try {
      const result = await this.run(request);
      this.reply(socket, { id: request.id, ok: true, result: result ?? null });
    } catch (error) {
      const code = isCutoverError(error) ? error.code : 'INTERNAL';
      this.reply(socket, { id: request.id, ok: false, error: { code, message: (error as Error).message } });
    }
  }

  private async run(request: ControlRequest): Promise<unknown> {
    switch (request.op) {
      case 'hello':
        return { ...this.identity, routeVersion: this.routeVersion, routes: [...this.routes.values()] };
      case 'setRoute':
        await this.proxy.setRoute(request.route);
        this.routes.set(request.route.service, request.route);
        return { routeVersion: ++this.routeVersion };
      case 'setUpstreamHealthy':
        this.proxy.setUpstreamHealthy(request.upstreamId, request.healthy);
        return null;
      case 'drain':
        return this.proxy.drain(request.service, request.releaseId, request.timeoutMs);
      case 'drainUpstream':
        return this.proxy.drainUpstream(request.upstreamId, request.timeoutMs);
      case 'counters':
        return this.proxy.counters();
      case 'latencySamples':
        return this.proxy.latencySamples(request.service, request.releaseId);
      case 'stop':
        // Answered first: the reply must leave before the control socket closes.
        setImmediate(() => void this.stop());
        return null;
    }
  }

  private reply(socket: net.Socket, reply: ControlReply): void {
    if (!socket.destroyed) socket.write(encodeLine(reply));
  }

  private broadcast(event: InstanceEjectionEvent): void {
    const line = encodeLine({ event: 'ejection', data: event });
    for (const socket of this.connections) if (!socket.destroyed) socket.write(line);
  }
}
