import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { CutoverError } from '../../core/errors.js';
import type { ReleaseCounters, ServiceRoute } from '../index.js';
import type { InstanceEjectionEvent } from '../proxy/passive-health.js';
import { ProxyRouter, type ListeningHandle, type RetireOptions } from '../proxy/proxy-router.js';
import {
  encodeLine,
  LineReader,
  replyTo,
  PROTOCOL_VERSION,
  type ControlReply,
  type ControlRequest,
  type ProxyIdentity,
} from './control-protocol.js';
import { parseControlRequest } from './control-requests.js';
import { mergeCounters, settled } from './counter-merge.js';
import { Predecessor, Successor, type TakeoverState } from './proxy-handover.js';
import { proxyPaths, type ProxyPaths } from './proxy-paths.js';
import type { ProxyProcessOptions } from './proxy-process-options.js';
import { ProxyWorkers } from './proxy-workers.js';
import { applyRouterRequest, isRouterRequest, type RouterRequest } from './router-requests.js';

const DAEMON_MAIN = fileURLToPath(new URL('./proxy-daemon-main.js', import.meta.url));

/**
 * How a generation that handed over winds down: idle kept-alive connections
 * get 5 s (any client sending at least that often gets `Connection: close`
 * on its next answer instead of a closed socket), upgrades the services'
 * drain timeout, and everything at most that plus a minute.
 */
const HANDOVER_IDLE_GRACE_MS = 5_000;
const HANDOVER_EXTRA_MS = 60_000;
/** Past the wind-down timeout, what a retiring generation still waits for is given up after this much more. */
const HANDOVER_EXIT_SLACK_MS = 10_000;

/** Requests that change what the proxy does: held, not answered, while a handover is under way (see `handle`). */
const HELD_DURING_HANDOVER = new Set<ControlRequest['op']>([
  'setRoute',
  'setUpstreamHealthy',
  'drain',
  'drainUpstream',
  'stop',
  'handover',
]);

/** A new generation's start: the listening socket and state it takes from the old one. */
export interface Takeover extends TakeoverState {
  listener: ListeningHandle;
  /** The old generation's TLS listening socket, when it had one (see `tlsListen` for its address). */
  tlsListener?: ListeningHandle;
}

/**
 * The proxy process: the embedded proxy (ProxyRouter) run on its own, so
 * that traffic outlives the controller. It holds the listening socket, the
 * routes, the drains, the WebSocket tunnels and the counters; the controller
 * programs it over the control socket and may come and go. When no
 * controller is connected the proxy serves its last routes as they are.
 *
 * With `workers` above 1 it forks worker processes that accept on the same
 * socket; it serves too. Every control request goes to all of them and is
 * answered once all have carried it out, counters summed.
 */
export class ProxyDaemon {
  private readonly identity: Omit<ProxyIdentity, 'routeVersion' | 'routes' | 'unhealthy' | 'workerPids'>;
  private readonly routes = new Map<string, ServiceRoute>();
  private readonly unhealthy = new Set<string>();
  private routeVersion: number;
  private readonly connections = new Set<net.Socket>();
  private control: net.Server | null = null;
  private stopping: Promise<void> | null = null;
  private readonly stoppedResolvers: (() => void)[] = [];
  /** Control requests served, by operation: logged at the stop. */
  private readonly served = new Map<string, number>();
  /** What earlier generations counted (a handover): added to every reading. */
  private inherited: ReleaseCounters[];
  private handingOver = false;
  /** Which of this generation's processes (pid; 0: this one) have each instance ejected (see `ejection`). */
  private readonly ejectedIn = new Map<string, Map<number, InstanceEjectionEvent>>();
  /** The generation that handed its socket to this one, while it winds down. */
  private predecessor: Predecessor | null = null;
  private readonly paths: ProxyPaths;
  private readonly held: { socket: net.Socket; message: unknown }[] = [];

  private constructor(
    private readonly proxy: ProxyRouter,
    private workers: ProxyWorkers | null,
    private readonly socketPath: string,
    private readonly options: ProxyProcessOptions,
    private readonly logger: Logger,
    takeover: Takeover | undefined,
  ) {
    this.identity = {
      protocol: PROTOCOL_VERSION,
      pid: process.pid,
      generation: randomBytes(8).toString('hex'),
      startedAt: new Date().toISOString(),
      listen: proxy.address,
      optionsDigest: options.digest,
      workers: options.workers,
    };
    this.paths = proxyPaths(path.dirname(path.dirname(socketPath)));
    this.routeVersion = takeover?.routeVersion ?? 0;
    this.inherited = takeover?.counters ?? [];
    const state = takeover ?? options.initial;
    for (const route of state?.routes ?? []) this.routes.set(route.service, route);
    for (const id of state?.unhealthy ?? []) this.unhealthy.add(id);
  }

  /**
   * Accepts on the proxy's port (bound here, or the socket a handover
   * passed) with the routes it takes over, then starts its workers. A port
   * in use fails the start before any control socket exists. The caller
   * then opens the control socket (`openControl`).
   */
  static async create(
    socketPath: string,
    options: ProxyProcessOptions,
    logger: Logger,
    takeover?: Takeover,
  ): Promise<ProxyDaemon> {
    let daemon: ProxyDaemon | null = null;
    const proxy = ProxyRouter.prepare({
      ...options.listen,
      logger,
      onInstanceEjection: (event) => daemon?.ejection(event, 0),
    });
    // Synchronous up to the listen call: a socket passed in a message is served before the event loop polls it.
    // The routes are in place before the first connection is accepted: a proxy started again after a crash, or
    // a new generation, never answers a client 404 for a service it is about to be given.
    const state = takeover ?? options.initial;
    for (const id of state?.unhealthy ?? []) proxy.setUpstreamHealthy(id, false);
    for (const route of state?.routes ?? []) void proxy.setRoute(route);
    if (takeover === undefined) await proxy.listenAt(options.listen.host, options.listen.port);
    else {
      await proxy.takeListener(takeover.listener);
      await takeTlsListener(proxy, options, takeover);
    }
    daemon = new ProxyDaemon(proxy, null, socketPath, options, logger, takeover);
    if (options.workers > 1) {
      const owner = daemon;
      const workers = new ProxyWorkers({
        count: options.workers - 1,
        listen: options.listen,
        listener: proxy.listeningHandle,
        tlsListener: proxy.tlsListeningHandle,
        state: () => ({ routes: [...owner.routes.values()], unhealthy: [...owner.unhealthy] }),
        logger,
        onInstanceEjection: (event, worker) => owner.ejection(event, worker),
        onWorkerGone: (worker) => owner.workerGone(worker),
      });
      try {
        await workers.start();
      } catch (error) {
        await proxy.close();
        throw error;
      }
      daemon.workers = workers;
    }
    return daemon;
  }

  /** Listens on the control socket, owner-only: from here on a controller can program this proxy. */
  async openControl(): Promise<void> {
    const control = net.createServer({ allowHalfOpen: false });
    // A socket file left by a crashed proxy (or the generation before) would make listen fail with EADDRINUSE.
    fs.rmSync(this.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      control.once('error', reject);
      // Owner-only from the first moment: the umask applies to the socket file listen creates.
      const umask = process.umask(0o177);
      try {
        control.listen(this.socketPath, () => {
          control.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
    control.on('connection', (socket) => this.accept(socket));
    this.control = control;
    this.logger.info(
      {
        socket: this.socketPath,
        listen: this.proxy.address,
        workers: this.options.workers,
        workerPids: this.workers?.pids ?? [],
        generation: this.identity.generation,
      },
      'proxy process ready',
    );
  }

  /** Binds the proxy's port, then the control socket: a fresh start. */
  static async start(socketPath: string, options: ProxyProcessOptions, logger: Logger): Promise<ProxyDaemon> {
    const daemon = await ProxyDaemon.create(socketPath, options, logger);
    try {
      await daemon.openControl();
    } catch (error) {
      await daemon.stop();
      throw error;
    }
    return daemon;
  }

  get address(): { host: string; port: number } {
    return this.proxy.address;
  }

  whoAmI(): ProxyIdentity {
    return {
      ...this.identity,
      workerPids: this.workers?.pids ?? [],
      routeVersion: this.routeVersion,
      routes: [...this.routes.values()],
      unhealthy: [...this.unhealthy],
    };
  }

  /** A generation started by a handover passes what it is asked on to the one before, until that one exits. */
  attachPredecessor(predecessor: Predecessor): void {
    this.predecessor = predecessor;
  }

  /** The counters a handover passed, replaced by the old generation's final ones once it has wound down. */
  inherit(counters: ReleaseCounters[]): void {
    this.inherited = counters;
  }

  /** Resolves once the proxy has stopped (a `stop` request, a signal, or a finished handover). */
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
      await this.closeControl();
      await Promise.all([this.workers?.stop(), this.proxy.close()]);
      fs.rmSync(this.socketPath, { force: true });
      for (const resolve of this.stoppedResolvers.splice(0)) resolve();
    })();
    return this.stopping;
  }

  private async closeControl(): Promise<void> {
    const control = this.control;
    this.control = null;
    // The connections first: a server's close callback waits for them.
    for (const socket of this.connections) socket.destroy();
    if (control !== null) await new Promise<void>((resolve) => control.close(() => resolve()));
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
    if (this.handingOver && HELD_DURING_HANDOVER.has(request.op)) {
      // Not answered here: once the handover is done this connection closes, and the controller sends what it
      // had not got an answer to again, to the new generation. If the handover fails, it is carried out here.
      this.held.push({ socket, message });
      return;
    }
    this.served.set(request.op, (this.served.get(request.op) ?? 0) + 1);
    this.reply(socket, await replyTo(request.id, () => this.run(request)));
  }

  private async run(request: ControlRequest): Promise<unknown> {
    if (isRouterRequest(request)) return this.everywhere(request);
    switch (request.op) {
      case 'hello':
        return this.whoAmI();
      case 'stop':
        // Answered first: the reply must leave before the control socket closes.
        setImmediate(() => void this.stop());
        return null;
      case 'handover':
        return this.handOver(request);
      default:
        throw new CutoverError('INTERNAL', 'unhandled control operation');
    }
  }

  /** A request carried out by this process and every worker; answered once all have. */
  private async everywhere(request: RouterRequest): Promise<unknown> {
    // Here first: a route the table refuses is refused before any worker sees it (they would refuse it alike).
    const own = await applyRouterRequest(this.proxy, request);
    if (request.op === 'setRoute') this.routes.set(request.route.service, request.route);
    if (request.op === 'setUpstreamHealthy') {
      if (request.healthy) this.unhealthy.delete(request.upstreamId);
      else this.unhealthy.add(request.upstreamId);
    }
    // The workers, and a generation before this one still winding down: its kept-alive clients are routed alike.
    const [theirs, before] = await Promise.all([
      this.workers === null ? [] : this.workers.call(request),
      this.predecessor?.call(request),
    ]);
    const others = before === undefined ? theirs : [...theirs, before];
    switch (request.op) {
      case 'setRoute':
        return { routeVersion: ++this.routeVersion };
      case 'counters':
        // The generation before counts on from what it passed at the handover, so its live reading replaces that.
        return mergeCounters([
          own as ReleaseCounters[],
          ...(theirs as ReleaseCounters[][]),
          ...(this.workers?.goneCounters ?? []),
          (before as ReleaseCounters[] | undefined) ?? this.inherited,
        ]);
      case 'latencySamples':
        return [own as number[], ...(others as number[][])].flat();
      case 'drain':
      case 'drainUpstream': {
        const all = [own, ...others] as { drained: boolean; closed: number }[];
        return { drained: all.every((r) => r.drained), closed: all.reduce((n, r) => n + r.closed, 0) };
      }
      default:
        return own;
    }
  }

  /** Everything this generation counted, its own and its workers' and what it inherited, as one reading. */
  private async allCounters(): Promise<ReleaseCounters[]> {
    return (await this.everywhere({ id: 0, op: 'counters' })) as ReleaseCounters[];
  }

  /**
   * Hands the listening socket to a new generation (see proxy-handover.ts)
   * and winds this one down. Answers with the new generation's identity;
   * the control connections close right after, and this process exits once
   * its last client connection has ended.
   */
  private async handOver(request: Extract<ControlRequest, { op: 'handover' }>): Promise<ProxyIdentity> {
    if (this.handingOver || this.stopping !== null)
      throw new CutoverError('ROUTER_UNAVAILABLE', 'this proxy generation is already stopping');
    this.handingOver = true;
    let successor: Successor;
    try {
      successor = await Successor.start({
        main: request.successor?.main ?? DAEMON_MAIN,
        socketPath: this.socketPath,
        optionsFile: request.successor?.optionsFile ?? this.paths.options,
        logFile: this.paths.log,
        listener: this.proxy.listeningHandle,
        tlsListener: this.proxy.tlsListeningHandle,
        takeover: {
          tlsListen: this.proxy.tlsAddress,
          routes: [...this.routes.values()],
          unhealthy: [...this.unhealthy],
          routeVersion: this.routeVersion,
          counters: settled(await this.allCounters()),
        },
      });
    } catch (error) {
      this.handingOver = false;
      this.logger.error({ err: error }, 'handover failed: this generation serves on');
      for (const { socket, message } of this.held.splice(0)) void this.handle(socket, message);
      throw error;
    }
    successor.serve((passed) => this.everywhere(passed));
    const retire: RetireOptions = {
      idleGraceMs: HANDOVER_IDLE_GRACE_MS,
      upgradeDrainMs: request.drainTimeoutMs,
      timeoutMs: Math.max(HANDOVER_IDLE_GRACE_MS, request.drainTimeoutMs) + HANDOVER_EXTRA_MS,
    };
    // Both generations accept now; this one stops, and its control socket goes to the new one.
    const retired = Promise.all([this.proxy.retire(retire), this.workers?.retire(retire)]);
    // Closed now (the socket file goes with it); the controller's open connections stay until the answer is out.
    this.control?.close();
    this.control = null;
    const identity = await successor.openControl();
    this.logger.info(
      { successor: { pid: identity.pid, generation: identity.generation }, held: this.held.length },
      'handed the listening socket over: winding down',
    );
    // After the answer has gone out: the controller reconnects (to the new generation) and sends the held requests again.
    setImmediate(() => {
      for (const socket of this.connections) socket.end();
    });
    this.stopping = (async () => {
      // Bounded: a generation that handed over must end, whatever it still waits for.
      const deadline = retire.timeoutMs + HANDOVER_EXIT_SLACK_MS;
      if ((await Promise.race([retired.then(() => true), delay(deadline, false)])) === false) {
        this.logger.warn({ deadlineMs: deadline }, 'still winding down past the deadline: stopping what is left');
        await this.workers?.stop();
      }
      await Promise.race([
        (async () => {
          await successor.finish(settled(await this.allCounters()));
          await this.proxy.close();
        })(),
        delay(HANDOVER_EXIT_SLACK_MS),
      ]);
      for (const resolve of this.stoppedResolvers.splice(0)) resolve();
    })();
    return identity;
  }

  private reply(socket: net.Socket, reply: ControlReply): void {
    if (!socket.destroyed) socket.write(encodeLine(reply));
  }

  /**
   * Passive health runs in each process on the traffic that process sees, so
   * an instance may be ejected by several: the controller hears of it once,
   * when the first process takes it out, and of its return when the last one
   * puts it back.
   */
  private ejection(event: InstanceEjectionEvent, processId: number): void {
    let by = this.ejectedIn.get(event.upstreamId);
    if (event.type === 'instance.ejected') {
      if (by === undefined) this.ejectedIn.set(event.upstreamId, (by = new Map()));
      const first = by.size === 0;
      by.set(processId, event);
      if (first) this.broadcast(event);
    } else if (by?.delete(processId) === true && by.size === 0) {
      this.ejectedIn.delete(event.upstreamId);
      this.broadcast(event);
    }
  }

  /** A worker that died had its own ejections: an instance only it had out is back in rotation everywhere. */
  private workerGone(processId: number): void {
    for (const [upstreamId, by] of this.ejectedIn) {
      const ejected = by.get(processId);
      if (ejected === undefined) continue;
      by.delete(processId);
      if (by.size > 0) continue;
      this.ejectedIn.delete(upstreamId);
      this.broadcast({
        type: 'instance.restored',
        service: ejected.service,
        releaseId: ejected.releaseId,
        upstreamId,
      });
    }
  }

  private broadcast(event: InstanceEjectionEvent): void {
    const line = encodeLine({ event: 'ejection', data: event });
    for (const socket of this.connections) if (!socket.destroyed) socket.write(line);
  }
}

/**
 * A new generation's TLS listener: the old generation's socket when it
 * listened on the same address (no moment without a listener), else bound
 * here (HTTPS just switched on, or moved to another port). A socket passed
 * but not wanted is closed, or its descriptor would stay open for good.
 */
async function takeTlsListener(proxy: ProxyRouter, options: ProxyProcessOptions, takeover: Takeover): Promise<void> {
  const wanted = options.listen.https;
  const passed = takeover.tlsListener;
  const same =
    wanted !== undefined &&
    takeover.tlsListen !== null &&
    takeover.tlsListen !== undefined &&
    takeover.tlsListen.port === wanted.port &&
    sameHost(takeover.tlsListen.host, wanted.host);
  if (passed !== undefined && same) {
    await proxy.takeTlsListener(passed);
    return;
  }
  if (passed !== undefined) (passed as unknown as { close?: () => void }).close?.();
  if (wanted !== undefined) await proxy.listenTls();
}

/** `127.0.0.1` asked and `127.0.0.1` bound; `::` asked and `::` bound: the address as written is what a bind reports. */
function sameHost(bound: string, wanted: string): boolean {
  return bound === wanted || (wanted === 'localhost' && (bound === '127.0.0.1' || bound === '::1'));
}
