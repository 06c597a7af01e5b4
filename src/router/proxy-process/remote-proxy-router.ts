import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { CutoverError } from '../../core/errors.js';
import type { AcmeChallenges, ReleaseCounters, Router, ServiceRoute } from '../index.js';
import type { InstanceEjectionEvent } from '../proxy/passive-health.js';
import {
  encodeLine,
  LineReader,
  replyError,
  type ControlReply,
  type ControlRequest,
  type ProxyIdentity,
  type SuccessorProgram,
} from './control-protocol.js';

export interface RemoteProxyOptions {
  socketPath: string;
  logger?: Logger;
  /** Starts a new proxy process when the one behind the socket is gone (crashed or killed); resolves once it listens. */
  respawn?: (last: ProxyIdentity | null, state: { routes: ServiceRoute[]; unhealthy: string[] }) => Promise<void>;
  onInstanceEjection?: (event: InstanceEjectionEvent) => void;
  /** What upgraded connections get on the old generation in a handover (the services' longest drain_timeout). */
  handoverDrainMs?: number;
  /** How old a reading `counters()` answers may be before it asks for a new one (default 250 ms). */
  countersMaxAgeMs?: number;
}

/** How long a control call may take on top of its own timeout before the proxy counts as hung. */
const CALL_SLACK_MS = 10_000;
/** How long a handover may take: the new generation starts (and its workers), then opens the control socket. */
const HANDOVER_TIMEOUT_MS = 30_000;
/** A handover's drain for upgraded connections when the router was given none. */
const DEFAULT_HANDOVER_DRAIN_MS = 30_000;
/** Between attempts to reach a proxy process that went away. */
const RECONNECT_EVERY_MS = 50;
/** Failed attempts after which the proxy process is taken for dead and started again (≈ 250 ms). */
const ATTEMPTS_BEFORE_RESPAWN = 5;

interface PendingCall {
  request: ControlRequest;
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  /** Sent on a connection being opened (hello, the replay): that open fails with its connection, and is tried again. */
  opening: boolean;
}

/**
 * The Router the controller holds when the proxy runs as its own process:
 * every call goes over the control socket. It keeps what it asked for (the
 * routes, the unhealthy marks) so that a proxy process that crashed and was
 * started again gets them back before anything else; a proxy it merely
 * reconnects to (same generation) already has them.
 *
 * `counters()` stays synchronous for its readers (the dashboard, status): it
 * answers the last reading and, when that is older than `countersMaxAgeMs`,
 * asks for a new one, so a proxy nobody reads is never asked. Readers that
 * need this moment's figures (analysis, /metrics) call `refreshCounters()`.
 */
export class RemoteProxyRouter implements Router {
  readonly kind = 'proxy';
  readonly supportsMaintenance = true;
  readonly supportsTls = true;
  private socket: net.Socket | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, PendingCall>();
  /** Calls made while no proxy was reachable: sent, in order, once one is. */
  private readonly queued: PendingCall[] = [];
  private readonly routes = new Map<string, ServiceRoute>();
  private readonly unhealthy = new Set<string>();
  private lastCounters: ReleaseCounters[] = [];
  private generation: string | null = null;
  private identity: ProxyIdentity | null = null;
  private closed = false;
  /** `stop` was asked for: a connection lost now is the proxy exiting, not one to reach again. */
  private stopping = false;
  private reconnecting: Promise<void> | null = null;
  private countersReadAt = 0;
  private countersAskedAt = 0;
  private countersReading: Promise<void> | null = null;
  /** True when this controller started the proxy process (false: adopted one that was serving already). */
  startedHere = false;

  private constructor(private readonly options: RemoteProxyOptions) {}

  /** Connects to a running proxy process and reads who it is. */
  static async connect(options: RemoteProxyOptions): Promise<RemoteProxyRouter> {
    const router = new RemoteProxyRouter(options);
    try {
      await router.open();
      await router.refreshCounters();
    } catch (error) {
      router.closed = true;
      router.socket?.destroy();
      throw error;
    }
    return router;
  }

  /** The proxy process this router talks to, as its last `hello` said. */
  get proxy(): ProxyIdentity {
    if (this.identity === null) throw new CutoverError('INTERNAL', 'the proxy process has not answered yet');
    return this.identity;
  }

  get address(): { host: string; port: number } {
    return this.proxy.listen;
  }

  async setRoute(route: ServiceRoute): Promise<void> {
    await this.call({ op: 'setRoute', route }, 0);
    this.routes.set(route.service, route);
  }

  /** Answered by the proxy process and every worker (not kept across its restart: an order under way is retried). */
  async setAcmeChallenges(challenges: AcmeChallenges): Promise<void> {
    await this.call({ op: 'setAcmeChallenges', challenges }, 0);
  }

  setUpstreamHealthy(upstreamId: string, healthy: boolean): void {
    if (healthy) this.unhealthy.delete(upstreamId);
    else this.unhealthy.add(upstreamId);
    this.call({ op: 'setUpstreamHealthy', upstreamId, healthy }, 0).catch((error: unknown) => {
      this.options.logger?.warn({ err: error, upstreamId, healthy }, 'the proxy process did not take a health change');
    });
  }

  drain(service: string, releaseId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    return this.call({ op: 'drain', service, releaseId, timeoutMs }, timeoutMs) as Promise<{
      drained: boolean;
      closed: number;
    }>;
  }

  drainUpstream(upstreamId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    return this.call({ op: 'drainUpstream', upstreamId, timeoutMs }, timeoutMs) as Promise<{
      drained: boolean;
      closed: number;
    }>;
  }

  counters(): ReleaseCounters[] {
    if (
      this.countersReading === null &&
      performance.now() - this.countersReadAt > (this.options.countersMaxAgeMs ?? 250)
    )
      this.countersReading = this.refreshCounters().finally(() => (this.countersReading = null));
    return this.lastCounters;
  }

  async latencySamples(service: string, releaseId: string): Promise<number[]> {
    return (await this.call({ op: 'latencySamples', service, releaseId }, 0)) as number[];
  }

  /**
   * `cutover proxy restart`, a newer build, new proxy options: a new proxy
   * generation takes the listening socket over (no moment without a
   * listener) and the old one winds down, its upgraded connections given
   * `handoverDrainMs`. Resolves once this router talks to the new generation.
   */
  async handOver(successor?: SuccessorProgram): Promise<{ pid: number; generation: string; workers: number }> {
    const drainTimeoutMs = this.options.handoverDrainMs ?? DEFAULT_HANDOVER_DRAIN_MS;
    const request = { op: 'handover' as const, drainTimeoutMs, ...(successor === undefined ? {} : { successor }) };
    const next = (await this.call(request, HANDOVER_TIMEOUT_MS)) as ProxyIdentity;
    // The old generation closes this connection right after its answer; the reconnect finds the new one.
    const deadline = performance.now() + HANDOVER_TIMEOUT_MS;
    while (this.generation !== next.generation && !this.closed) {
      if (performance.now() > deadline)
        throw new CutoverError('ROUTER_UNAVAILABLE', 'the new proxy generation did not take the control connection');
      await delay(RECONNECT_EVERY_MS);
    }
    return { pid: next.pid, generation: next.generation, workers: next.workers };
  }

  /** A deliberate full stop (`cutover down`): the proxy process ends what is in flight and exits. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stopping = true;
    await this.call({ op: 'stop' }, 0).catch(() => {});
    const pid = this.identity?.pid;
    this.detachNow();
    if (pid !== undefined) await waitForExit(pid, 10_000);
  }

  /** Leaves the proxy process running with its routes (the controller stops or restarts): only the connection closes. */
  async detach(): Promise<void> {
    this.detachNow();
  }

  private detachNow(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = null;
    const error = new CutoverError('ROUTER_UNAVAILABLE', 'the controller let go of the proxy process');
    for (const call of [...this.pending.values(), ...this.queued.splice(0)]) {
      clearTimeout(call.timer);
      call.reject(error);
    }
    this.pending.clear();
  }

  /** Sends a request (queued while no proxy is reachable; `now`: at once on the socket being opened, for hello and the replay). */
  private call(request: DistributiveOmit<ControlRequest, 'id'>, ownTimeoutMs: number, now = false): Promise<unknown> {
    if (this.closed) return Promise.reject(new CutoverError('ROUTER_UNAVAILABLE', 'the proxy connection is closed'));
    return new Promise((resolve, reject) => {
      const full = { ...request, id: this.nextId++ };
      const call: PendingCall = {
        request: full,
        resolve,
        reject,
        opening: now,
        timer: setTimeout(() => {
          this.pending.delete(full.id);
          const index = this.queued.indexOf(call);
          if (index >= 0) this.queued.splice(index, 1);
          reject(
            new CutoverError(
              'ROUTER_APPLY_FAILED',
              `the proxy process did not answer ${full.op} within ${ownTimeoutMs + CALL_SLACK_MS} ms`,
            ),
          );
        }, ownTimeoutMs + CALL_SLACK_MS),
      };
      call.timer.unref();
      if (!now && (this.socket === null || this.reconnecting !== null)) this.queued.push(call);
      else this.send(call);
    });
  }

  private send(call: PendingCall): void {
    this.pending.set(call.request.id, call);
    this.socket?.write(encodeLine(call.request));
  }

  /** Connects, says hello, and if this is a proxy process other than the last one, gives it the routes back. */
  private async open(): Promise<void> {
    const socket = await connectUnix(this.options.socketPath);
    socket.setEncoding('utf8');
    const reader = new LineReader(
      (message) => this.receive(message),
      (reason) => {
        this.options.logger?.warn({ reason }, 'proxy control connection closed: bad input');
        socket.destroy();
      },
    );
    socket.on('data', (chunk: string) => reader.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.lost(socket));
    this.socket = socket;
    const hello = await this.call({ op: 'hello' }, 0, true);
    const identity = hello as ProxyIdentity;
    const fresh = this.generation !== null && identity.generation !== this.generation;
    // Adopting a running proxy: the routes it holds are the ones to give back if it must be started again.
    if (this.generation === null) {
      for (const route of identity.routes) if (!this.routes.has(route.service)) this.routes.set(route.service, route);
      // An older proxy's hello has no unhealthy list.
      for (const id of identity.unhealthy ?? []) this.unhealthy.add(id);
    }
    this.identity = identity;
    // The generation is taken once the routes are back: a connection lost during the replay makes the next open
    // replay again.
    if (fresh) await this.replay(identity.generation);
    this.generation = identity.generation;
  }

  private async replay(generation: string): Promise<void> {
    this.options.logger?.warn(
      { routes: this.routes.size, unhealthy: this.unhealthy.size, generation },
      'a new proxy process: giving it the routes and health marks back',
    );
    for (const id of this.unhealthy)
      await this.call({ op: 'setUpstreamHealthy', upstreamId: id, healthy: false }, 0, true);
    for (const route of this.routes.values()) await this.call({ op: 'setRoute', route }, 0, true);
  }

  private receive(message: unknown): void {
    const m = message as Partial<ControlReply> & { event?: string; data?: unknown };
    if (m.event === 'ejection') {
      this.options.onInstanceEjection?.(m.data as InstanceEjectionEvent);
      return;
    }
    const call = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
    if (call === undefined) return;
    this.pending.delete(m.id as number);
    clearTimeout(call.timer);
    if (m.ok === true) call.resolve((m as { result: unknown }).result);
    else call.reject(replyError(m));
  }

  /** The connection dropped: calls in flight are sent again to the proxy we reach next (they are idempotent). */
  private lost(socket: net.Socket): void {
    if (this.socket !== socket) return;
    this.socket = null;
    if (this.closed) return;
    const inFlight = [...this.pending.values()].sort((a, b) => a.request.id - b.request.id);
    this.pending.clear();
    const lostError = new CutoverError('ROUTER_UNAVAILABLE', 'the proxy process control connection closed');
    // The open that sent these fails with them and is tried again; queued, they would wait for that very open.
    for (const call of inFlight.filter((c) => c.opening)) this.fail(call, lostError);
    const resend = inFlight.filter((c) => !c.opening);
    // Stopping, the proxy closes the connection as it exits; never connected (`connect` is failing), there is
    // nothing to go back to. Either way nothing is sent again, and every call ends now: their timers do not
    // keep a CLI process alive, so a call left waiting would end it with an unsettled promise.
    if (this.stopping || this.identity === null) {
      for (const call of [...resend, ...this.queued.splice(0)]) this.fail(call, lostError);
      return;
    }
    this.queued.unshift(...resend);
    this.options.logger?.warn('lost the proxy process control connection; reconnecting');
    this.reconnecting ??= this.reconnect().finally(() => {
      this.reconnecting = null;
      const calls = this.queued.splice(0);
      if (this.socket === null) for (const call of calls) this.fail(call, lostError);
      else for (const call of calls) this.send(call);
    });
  }

  private fail(call: PendingCall, error: Error): void {
    clearTimeout(call.timer);
    call.reject(error);
  }

  private async reconnect(): Promise<void> {
    let attempts = 0;
    while (!this.closed && !this.stopping) {
      try {
        await this.open();
        this.options.logger?.info({ generation: this.generation }, 'proxy process control connection back');
        return;
      } catch {
        this.socket?.destroy();
        this.socket = null;
      }
      attempts++;
      if (attempts >= ATTEMPTS_BEFORE_RESPAWN && this.options.respawn !== undefined && !isAlive(this.identity?.pid)) {
        this.options.logger?.error({ pid: this.identity?.pid }, 'the proxy process is gone: starting a new one');
        const state = { routes: [...this.routes.values()], unhealthy: [...this.unhealthy] };
        await this.options.respawn(this.identity, state).catch((error: unknown) => {
          this.options.logger?.error({ err: error }, 'starting a new proxy process failed; trying again');
        });
        attempts = 0;
      }
      await delay(RECONNECT_EVERY_MS);
    }
  }

  /** Takes a reading now: asked after the caller's moment, so it counts everything that ended before. */
  async refreshCounters(): Promise<void> {
    if (this.closed || this.socket === null || this.reconnecting !== null) return;
    const askedAt = performance.now();
    try {
      const counters = (await this.call({ op: 'counters' }, 0)) as ReleaseCounters[];
      // Replies come in order on one connection; a newer reading may still have landed first through another path.
      if (askedAt >= this.countersAskedAt) {
        this.countersAskedAt = askedAt;
        this.lastCounters = counters;
        this.countersReadAt = performance.now();
      }
    } catch {
      // Kept: the last reading stands until the proxy answers again.
    }
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

function connectUnix(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A zombie is dead: an adopted proxy's parent is gone, and PID 1 in a container may never reap it.
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await delay(20);
}
