import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { CutoverError } from '../../core/errors.js';
import type { ReleaseCounters, ServiceRoute } from '../index.js';
import type { ListeningHandle } from '../proxy/proxy-router.js';
import { replyError, replyTo, type ControlReply, type ProxyIdentity } from './control-protocol.js';
import type { RouterRequest } from './router-requests.js';

/**
 * The handover of the listening socket from one proxy generation to the
 * next (`cutover proxy restart`, a newer cutover build, new proxy options):
 * the old generation starts the new one as a child with an IPC channel and
 * passes it the listening socket as a file descriptor, so the port never
 * stops listening. The new generation is detached (its own process group):
 * it outlives the old one, which exits once its connections have ended.
 *
 * 1. old → new `takeover` (+ the socket): routes, health marks, counters.
 *    The new one accepts alongside the old.
 * 2. new → old `ready` once it and its workers accept.
 * 3. The old one stops accepting and closes its control socket;
 *    old → new `open-control`; new → old `control-open` with its identity
 *    once it listens on the control socket (the same path).
 * 4. The old one answers the controller and closes its control connections:
 *    the controller reconnects, to the new generation.
 * 5. Until the old one exits, the new one passes it every route change,
 *    health mark, drain and counters request (`request`/`reply`): a client
 *    still on a kept-alive connection to the old generation is routed by
 *    the same routes as everyone else, and a drain waits for its requests.
 * 6. old → new `final-counters` when its last connection ended: what it
 *    served after step 1, so counters stay whole.
 */
export type ToSuccessor =
  | { type: 'takeover'; takeover: TakeoverState }
  /** Right after `takeover` when the old generation has a TLS listener: its socket (a message carries one handle). */
  | { type: 'takeover-tls' }
  | { type: 'open-control' }
  | { type: 'reply'; reply: ControlReply }
  | { type: 'final-counters'; counters: ReleaseCounters[] };

export type FromSuccessor =
  | { type: 'ready' }
  | { type: 'control-open'; identity: ProxyIdentity }
  | { type: 'request'; request: RouterRequest }
  | { type: 'failed'; error: string };

/** What the new generation takes from the old one, besides the listening socket. */
export interface TakeoverState {
  routes: ServiceRoute[];
  unhealthy: string[];
  routeVersion: number;
  /** The old generation's counters: the new one counts on from them. */
  counters: ReleaseCounters[];
  /** Where the old generation's TLS listener listens (its socket follows in `takeover-tls`), or null. */
  tlsListen?: { host: string; port: number } | null;
}

/** How long a new generation may take to accept, and then to open its control socket. */
const SUCCESSOR_TIMEOUT_MS = 15_000;

export interface SuccessorLaunch {
  /** The proxy-daemon-main.js to run: this build's, or a newer one's. */
  main: string;
  socketPath: string;
  optionsFile: string;
  logFile: string;
  listener: ListeningHandle;
  tlsListener: ListeningHandle | null;
  takeover: TakeoverState;
}

export class Successor {
  private constructor(private readonly child: ChildProcess) {}

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts the new generation and resolves once it accepts on the socket; rejects (and kills it) when it cannot. */
  static async start(launch: SuccessorLaunch): Promise<Successor> {
    const log = fs.openSync(launch.logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [launch.main, launch.socketPath, launch.optionsFile, '--takeover'], {
        detached: true,
        cwd: path.dirname(launch.socketPath),
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        stdio: ['ignore', log, log, 'ipc'],
        serialization: 'json',
      });
    } finally {
      fs.closeSync(log);
    }
    const successor = new Successor(child);
    try {
      // A send that fails shows as the child's exit or silence, which `expect` reports.
      child.send(
        { type: 'takeover', takeover: launch.takeover } satisfies ToSuccessor,
        launch.listener as unknown as net.Server,
        () => {},
      );
      if (launch.tlsListener !== null)
        child.send(
          { type: 'takeover-tls' } satisfies ToSuccessor,
          launch.tlsListener as unknown as net.Server,
          () => {},
        );
      await successor.expect('ready');
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return successor;
  }

  /** What the new generation passes on while this one winds down (step 5) is carried out by `apply`. */
  serve(apply: (request: RouterRequest) => Promise<unknown>): void {
    this.child.on('message', (message: FromSuccessor) => {
      if (message.type !== 'request') return;
      const request = message.request;
      void replyTo(request.id, () => apply(request)).then((reply) => this.tell({ type: 'reply', reply }));
    });
  }

  private tell(message: ToSuccessor): void {
    if (this.child.connected) this.child.send(message, () => {});
  }

  /** Tells the new generation to listen on the control socket (the old one closed it) and returns who it is. */
  async openControl(): Promise<ProxyIdentity> {
    this.child.send({ type: 'open-control' } satisfies ToSuccessor, () => {});
    const said = await this.expect('control-open');
    return (said as Extract<FromSuccessor, { type: 'control-open' }>).identity;
  }

  /** The old generation's last counters; then the channel closes and the new generation is on its own. */
  finish(counters: ReleaseCounters[]): Promise<void> {
    if (!this.child.connected) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.send({ type: 'final-counters', counters } satisfies ToSuccessor, () => {
        this.release();
        resolve();
      });
    });
  }

  release(): void {
    if (this.child.connected) this.child.disconnect();
    this.child.unref();
  }

  private expect(type: FromSuccessor['type']): Promise<FromSuccessor> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      const onMessage = (message: FromSuccessor): void => {
        if (message.type === type) {
          done();
          resolve(message);
        } else if (message.type === 'failed') {
          done();
          reject(new CutoverError('PROXY_START_FAILED', `the new proxy generation could not start: ${message.error}`));
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        done();
        reject(new CutoverError('PROXY_START_FAILED', `the new proxy generation exited (${signal ?? code})`));
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new CutoverError(
            'PROXY_START_FAILED',
            `the new proxy generation did not say ${type} within ${SUCCESSOR_TIMEOUT_MS} ms`,
          ),
        );
      }, SUCCESSOR_TIMEOUT_MS);
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }
}

/**
 * The generation before, seen from the new one while it winds down: requests
 * go to it over the IPC channel, and a generation that has exited answers
 * nothing (`undefined`).
 */
export class Predecessor {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  constructor() {
    process.on('message', (message: ToSuccessor) => {
      if (message.type !== 'reply') return;
      const call = this.pending.get(message.reply.id);
      if (call === undefined) return;
      this.pending.delete(message.reply.id);
      if (message.reply.ok) call.resolve(message.reply.result);
      else call.reject(replyError(message.reply));
    });
    process.on('disconnect', () => {
      for (const call of this.pending.values()) call.resolve(undefined);
      this.pending.clear();
    });
  }

  get connected(): boolean {
    return process.connected;
  }

  call(request: RouterRequest): Promise<unknown> {
    if (!process.connected) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      // The generation before may exit at any moment: a failed send answers nothing, like its exit.
      process.send?.(
        { type: 'request', request: { ...request, id } } satisfies FromSuccessor,
        undefined,
        undefined,
        (error) => {
          if (error === null || !this.pending.delete(id)) return;
          resolve(undefined);
        },
      );
    });
  }
}
