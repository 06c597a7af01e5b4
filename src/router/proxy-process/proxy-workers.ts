import { fork, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { CutoverError } from '../../core/errors.js';
import type { ReleaseCounters, ServiceRoute } from '../index.js';
import type { InstanceEjectionEvent } from '../proxy/passive-health.js';
import type { ListeningHandle, RetireOptions } from '../proxy/proxy-router.js';
import { replyError } from './control-protocol.js';
import { settled } from './counter-merge.js';
import type { ProxyProcessListenOptions } from './proxy-process-options.js';
import type { RouterRequest } from './router-requests.js';
import type { FromWorker, ToWorker } from './worker-messages.js';

const WORKER_MAIN = fileURLToPath(new URL('./proxy-worker-main.js', import.meta.url));
/** How long a new worker may take to accept on the socket. */
const WORKER_START_TIMEOUT_MS = 15_000;
/** A worker that dies sooner than this after its start is replaced only after WORKER_RESTART_DELAY_MS (a crash loop). */
const WORKER_MIN_LIFE_MS = 5_000;
const WORKER_RESTART_DELAY_MS = 1_000;
/** How long a stop waits for workers to exit before it kills them. */
const WORKER_STOP_TIMEOUT_MS = 10_000;

export interface ProxyWorkersOptions {
  /** Worker processes besides the main process (which serves too): `proxy_workers - 1`. */
  count: number;
  listen: ProxyProcessListenOptions;
  /** The listening socket every worker accepts on. */
  listener: ListeningHandle;
  /** The TLS listener's socket, when there is one: sent right after `start`, in a message of its own. */
  tlsListener: ListeningHandle | null;
  /** The routes and unhealthy marks a new worker must hold before it accepts. */
  state: () => { routes: ServiceRoute[]; unhealthy: string[] };
  logger: Logger;
  /** A worker's passive health took an instance out or put it back (`worker`: its pid). */
  onInstanceEjection: (event: InstanceEjectionEvent, worker: number) => void;
  /** A worker is gone: what it had ejected is no longer out anywhere on its account. */
  onWorkerGone?: (worker: number) => void;
}

interface Worker {
  child: ChildProcess;
  startedAt: number;
  pending: Map<number, { op: RouterRequest['op']; resolve(value: unknown): void; reject(error: Error): void }>;
  lastCounters: ReleaseCounters[];
}

/**
 * The proxy's worker processes, seen from its main process: forks them,
 * hands each the listening socket and the current routes, sends every
 * control request to all of them, and replaces one that dies. What a dead
 * worker had counted stays in `gone` so the proxy's counters never drop;
 * what it had in flight is lost with it.
 */
export class ProxyWorkers {
  private readonly workers = new Set<Worker>();
  private gone: ReleaseCounters[][] = [];
  private nextId = 1;
  private stopping = false;

  constructor(private readonly options: ProxyWorkersOptions) {}

  get size(): number {
    return this.workers.size;
  }

  /** Pids of the live workers. */
  get pids(): number[] {
    return [...this.workers].flatMap((w) => (w.child.pid === undefined ? [] : [w.child.pid]));
  }

  /** Forks every worker and resolves once each accepts; rejects (and stops them) when one cannot. */
  async start(): Promise<void> {
    try {
      await Promise.all(Array.from({ length: this.options.count }, () => this.spawn()));
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * Sends a request to every live worker and resolves with their answers
   * once all have answered (a worker that dies meanwhile answers nothing).
   * A worker started after the call got the routes in its start message.
   */
  async call(request: RouterRequest): Promise<unknown[]> {
    const answers = await Promise.all(
      [...this.workers].map(
        (worker) =>
          new Promise<unknown>((resolve, reject) => {
            const id = this.nextId++;
            worker.pending.set(id, { op: request.op, resolve, reject });
            this.send(worker, { type: 'request', request: { ...request, id } });
          }),
      ),
    );
    return answers.filter((answer) => answer !== GONE);
  }

  /** What workers that died had counted (their last reading): part of every counters answer. */
  get goneCounters(): readonly ReleaseCounters[][] {
    return this.gone;
  }

  /** A handover: every worker stops accepting and winds down; resolves when all have exited. */
  async retire(options: RetireOptions): Promise<void> {
    this.stopping = true;
    const exited = [...this.workers].map((worker) => exitOf(worker.child));
    for (const worker of this.workers) this.send(worker, { type: 'retire', options });
    await Promise.all(exited);
  }

  /** The full stop: workers close at once; one that does not exit in time is killed. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.workers].map(async (worker) => {
        const exited = exitOf(worker.child);
        this.send(worker, { type: 'stop' });
        const timer = setTimeout(() => worker.child.kill('SIGKILL'), WORKER_STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private spawn(): Promise<void> {
    const child = fork(WORKER_MAIN, [], {
      // The workers run no program: nothing of the environment but PATH.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    const worker: Worker = { child, startedAt: performance.now(), pending: new Map(), lastCounters: [] };
    this.workers.add(worker);
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new CutoverError(
              'PROXY_START_FAILED',
              `a proxy worker did not accept within ${WORKER_START_TIMEOUT_MS} ms`,
            ),
          ),
        WORKER_START_TIMEOUT_MS,
      );
      child.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else this.receive(worker, message);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new CutoverError('PROXY_START_FAILED', `a proxy worker exited before it accepted (${signal ?? code})`));
        // Messages it sent last (its final counters) are read before the channel reports it closed.
        if (child.connected) child.once('disconnect', () => this.lost(worker, code, signal));
        else this.lost(worker, code, signal);
      });
    });
    const { routes, unhealthy } = this.options.state();
    child.send(
      { type: 'start', listen: this.options.listen, routes, unhealthy } satisfies ToWorker,
      // The bare handle (see ProxyRouter.listeningHandle); Node's typings know only sockets and servers.
      this.options.listener as unknown as net.Server,
      () => {},
    );
    if (this.options.tlsListener !== null)
      child.send(
        { type: 'tls-listener' } satisfies ToWorker,
        this.options.tlsListener as unknown as net.Server,
        () => {},
      );
    return ready;
  }

  private receive(worker: Worker, message: FromWorker): void {
    if (message.type === 'ejection') {
      this.options.onInstanceEjection(message.data, worker.child.pid ?? 0);
      return;
    }
    if (message.type === 'final-counters') {
      worker.lastCounters = message.counters;
      return;
    }
    if (message.type !== 'reply') return;
    const reply = message.reply;
    const call = worker.pending.get(reply.id);
    if (call === undefined) return;
    worker.pending.delete(reply.id);
    if (reply.ok) {
      if (call.op === 'counters') worker.lastCounters = reply.result as ReleaseCounters[];
      call.resolve(reply.result);
    } else call.reject(replyError(reply));
  }

  private lost(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (!this.workers.delete(worker)) return;
    for (const call of worker.pending.values()) call.resolve(GONE);
    worker.pending.clear();
    this.gone.push(settled(worker.lastCounters));
    this.options.onWorkerGone?.(worker.child.pid ?? 0);
    if (this.stopping) return;
    const lived = performance.now() - worker.startedAt;
    this.options.logger.error(
      { pid: worker.child.pid, code, signal, livedMs: Math.round(lived) },
      'a proxy worker died: starting a new one (what it had in flight is lost)',
    );
    setTimeout(
      () => {
        if (this.stopping) return;
        this.spawn().catch((error: unknown) =>
          this.options.logger.error({ err: error }, 'a new proxy worker did not start'),
        );
      },
      lived < WORKER_MIN_LIFE_MS ? WORKER_RESTART_DELAY_MS : 0,
    );
  }

  private send(worker: Worker, message: ToWorker): void {
    // A worker dying under the send is seen by its exit: nothing to report here.
    if (worker.child.connected) worker.child.send(message, () => {});
  }
}

const GONE = Symbol('worker gone');

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
