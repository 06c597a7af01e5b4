import pino from 'pino';
import { ManualClock } from '../../../src/clock/manual-clock.js';
import type { Clock, ClockTimer } from '../../../src/core/clock.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { CutoverConfig } from '../../../src/config/types.js';
import { Controller } from '../../../src/controller/controller.js';
import type { HealthProbe } from '../../../src/controller/instance-supervisor.js';
import { FakeRouter } from '../../../src/router/fake/fake-router.js';
import type { FakeRouting } from '../../../src/router/fake/fake-router.js';
import { FakeRuntime } from '../../../src/runtime/fake/fake-runtime.js';
import type { EventRecord, OperationRecord } from '../../../src/store/records.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';

/**
 * The controller over in-memory fakes and a manual clock: a FakeRuntime
 * (instances judged by its probe, no sockets), a FakeRouter (requests routed
 * in memory), SQLite in memory. Time moves only when a test advances it, so
 * a 10-minute scale-down delay is a line of code, not a wait.
 */
export interface LogicHarness {
  clock: ManualClock;
  runtime: FakeRuntime;
  router: FakeRouter;
  store: SqliteStore;
  controller: Controller;
  config: CutoverConfig;
  /** The version a request to the service is routed to, or the refusal's status. */
  versionServed(service?: string): string | number;
  /** Advances the clock until the operation has an outcome. */
  finish(operation: OperationRecord, limitMs?: number): Promise<OperationRecord>;
  /** Advances until `done()` holds. */
  until(done: () => boolean, limitMs?: number): Promise<void>;
  events(operation: OperationRecord): EventRecord[];
  /**
   * A controller crash and restart: the old controller is dropped without
   * close() (its instances survive in a new FakeRuntime, as processes outlive
   * a SIGKILLed server), a new Controller starts over the same store, clock
   * and router state (nginx, or a proxy's last routes, is what recovery
   * rebuilds; a fresh FakeRouter is the honest model of the embedded proxy).
   */
  restart(): Promise<LogicHarness>;
  close(): Promise<void>;
}

const silent = pino({ level: 'silent' });

export function serviceYaml(
  strategy: string,
  options: { instances?: number; restartAfter?: number; extra?: string; topLevel?: string } = {},
): string {
  return `server:
  proxy: 127.0.0.1:18080
  admin: 127.0.0.1:18081
  state_dir: /tmp/cutover-logic-unused
services:
  web:
    hosts: [web.localhost]
    default: true
    runtime: process
    command: app --port \${PORT}
    cwd: /tmp
    instances: ${options.instances ?? 2}
    health: { path: /health, interval: 30s, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 2, start_period: 5s${options.restartAfter !== undefined ? `, restart_after: ${options.restartAfter}` : ''} }
    strategy: ${strategy}
    drain_timeout: 5s
    stop_grace_period: 3s
${options.extra ?? ''}${options.topLevel ?? ''}`;
}

/**
 * One controller's view of the shared manual clock. `kill()` is the SIGKILL:
 * the dead controller's timers and sleeps never fire again, while time and
 * the next controller go on.
 */
class ControllerClock implements Clock {
  private dead = false;

  constructor(private readonly base: ManualClock) {}

  now(): number {
    return this.base.now();
  }

  schedule(callback: () => void, ms: number): ClockTimer {
    return this.base.schedule(() => {
      if (!this.dead) callback();
    }, ms);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      this.base.sleep(ms, signal).then(
        () => {
          if (!this.dead) resolve();
        },
        (error: Error) => {
          if (!this.dead) reject(error);
        },
      );
    });
  }

  kill(): void {
    this.dead = true;
  }
}

/** The supervisor asks the fake runtime instead of opening a socket. */
function fakeProbe(runtime: FakeRuntime): HealthProbe {
  return async (target) => ({ ...(await runtime.probe(target.instanceId)), durationMs: 0 });
}

export async function startLogic(
  yaml: string,
  reuse?: { clock: ManualClock; store: SqliteStore; runtime: FakeRuntime },
  /** A router of the test's own (a FakeRouter subclass that lacks an ability); built on the harness's clock. */
  routerFor?: (clock: ManualClock) => FakeRouter,
): Promise<LogicHarness> {
  const config = parseConfig(yaml, null, { env: {} });
  const clock = reuse?.clock ?? new ManualClock();
  const store = reuse?.store ?? SqliteStore.memory();
  const runtime = reuse?.runtime ?? new FakeRuntime({ clock });
  const router = routerFor?.(clock) ?? new FakeRouter({ clock });
  const own = new ControllerClock(clock);
  const controller = new Controller({
    config,
    store,
    runtime,
    router,
    logger: silent,
    clock: own,
    probe: fakeProbe(runtime),
    gitInfo: async () => ({ commit: null, branch: null }),
  });
  await controller.start(runtime);
  const harness: LogicHarness = {
    clock,
    runtime,
    router,
    store,
    controller,
    config,
    versionServed(service = 'web') {
      const routing: FakeRouting = router.route({ host: `${service}.localhost` });
      return routing.routed ? routing.version : routing.status;
    },
    async finish(operation, limitMs = 600_000) {
      await clock.advanceUntil(() => store.getOperation(operation.id)?.outcome != null, { stepMs: 1000, limitMs });
      return store.getOperation(operation.id)!;
    },
    async until(done, limitMs = 600_000) {
      await clock.advanceUntil(done, { stepMs: 1000, limitMs });
    },
    events(operation) {
      return store.eventsOf(operation.id);
    },
    async restart() {
      // Drop the controller as a SIGKILL would: no close(), its timers die with it.
      own.kill();
      const survivors = runtime.survivors();
      const next = new FakeRuntime({ clock, alive: survivors });
      return startLogic(yaml, { clock, store, runtime: next });
    },
    async close() {
      const closing = controller.close();
      await clock.advanceUntil(() => false, { stepMs: 1000, limitMs: 10_000 }).catch(() => {});
      await closing;
      store.close();
    },
  };
  return harness;
}
