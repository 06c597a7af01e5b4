import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isCutoverError } from '../../src/core/errors.js';
import { portConflictIn } from '../../src/core/port-conflict.js';
import type { InstanceExit, InstanceInfo, InstanceSpec, Runtime } from '../../src/runtime/index.js';

/**
 * What every Runtime adapter promises, in one suite that each adapter's
 * test file calls (as Hono's routers share `common.case.test.ts`): the
 * process, Docker and Swarm runtimes, and the FakeRuntime the controller
 * tests run on. An adapter that cannot keep a promise skips that case with
 * the reason, in its own file; a new adapter is done when this passes.
 */
export type RuntimeContractCase =
  | 'start'
  | 'health'
  | 'logs'
  | 'stop'
  | 'crash'
  | 'adopt'
  | 'adopt-refuses-token'
  | 'detach'
  | 'port-conflict'
  | 'failed-start'
  | 'close';

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** What an adapter's file hands the suite. Release ids must be unique per call: the suite makes its own from `release`. */
export interface RuntimeContractSetup {
  /**
   * A new runtime. With `previous`, one over the same state (log directory,
   * owner label, daemon; the fake: the survivors) as after a controller
   * restart; the suite then drops `previous` without closing it first.
   */
  newRuntime(previous?: Runtime): Runtime | Promise<Runtime>;
  /** A known-good sample app (it answers GET /health with 200). */
  goodSpec(releaseId: string, index: number): InstanceSpec;
  /** An app whose start throws INSTANCE_START_FAILED (a missing program or image). */
  failingSpec(releaseId: string, index: number): InstanceSpec;
  /** An app that binds `blockedPort` whatever $PORT says. */
  conflictSpec(releaseId: string, index: number): InstanceSpec;
  /** A port another program holds while the suite runs. */
  blockedPort: number;
  /** What a health check sees (real adapters: GET /health on host:port). */
  probe(runtime: Runtime, info: InstanceInfo): Promise<ProbeResult>;
  /** Kills the instance behind the runtime's back (the process, the container, the task's container). */
  crash(runtime: Runtime, info: InstanceInfo): Promise<void>;
  /** How long an instance may take to answer its probe or report its exit. */
  patienceMs?: number;
}

export interface RuntimeContractOptions {
  name: string;
  setup(): Promise<RuntimeContractSetup>;
  /** Runs after the suite, once every runtime it made is closed (stop a daemon, free the blocked port). */
  teardown?(): Promise<void>;
  /** Cases this adapter cannot keep, each with the reason (not run; the reason is printed). */
  skip?: Partial<Record<RuntimeContractCase, string>>;
}

export function runtimeContract(options: RuntimeContractOptions): void {
  describe(`Runtime contract: ${options.name}`, () => {
    let s: RuntimeContractSetup;
    const made: Runtime[] = [];
    let releases = 0;
    const release = (what: string): string => `${what}-${++releases}`;
    const newRuntime = async (previous?: Runtime): Promise<Runtime> => {
      const runtime = await s.newRuntime(previous);
      made.push(runtime);
      return runtime;
    };
    const exitsOf = (runtime: Runtime): InstanceExit[] => {
      const exits: InstanceExit[] = [];
      runtime.onExit((exit) => exits.push(exit));
      return exits;
    };
    const patience = (): number => s.patienceMs ?? 15_000;
    const answers = async (runtime: Runtime, info: InstanceInfo): Promise<void> => {
      let last: ProbeResult = { ok: false, detail: 'not probed' };
      await waitFor(
        async () => (last = await s.probe(runtime, info)).ok,
        patience(),
        () => `${info.id} to answer its probe (last: ${last.detail})`,
      );
    };
    const ids = (infos: readonly InstanceInfo[]): string[] => infos.map((info) => info.id).sort();
    // A case the adapter declares it cannot keep is not run, and not counted as
    // a skipped test either: one test checks each declaration has a reason of
    // its own and prints it, so the limits show in every run.
    const declared = Object.entries(options.skip ?? {});
    if (declared.length > 0) {
      it('declares what it cannot do, each with its reason', (t) => {
        for (const [name, reason] of declared) {
          assert.ok(typeof reason === 'string' && reason.trim().length >= 20, `${name}: the reason says why`);
          t.diagnostic(`not run: ${name}: ${reason}`);
        }
      });
    }
    const contractCase = (name: RuntimeContractCase, title: string, body: () => Promise<void>): void => {
      if (options.skip?.[name] !== undefined) return;
      it(title, body);
    };

    before(async () => {
      s = await options.setup();
    });
    after(async () => {
      for (const runtime of made) await runtime.close().catch(() => {});
      await options.teardown?.();
    });

    describe('one instance started', () => {
      let runtime: Runtime;
      let info: InstanceInfo;
      let spec: InstanceSpec;
      before(async () => {
        runtime = await newRuntime();
        spec = s.goodSpec(release('started'), 0);
        info = await runtime.start(spec);
      });
      after(async () => {
        await runtime.stop(info.id);
      });

      contractCase('start', 'start() resolves with the instance id, host and port, and list() has it', async () => {
        assert.equal(info.id, `${spec.service}/${spec.releaseId}/${spec.slot}-${spec.index}`);
        assert.deepEqual(
          [info.service, info.releaseId, info.version, info.slot, info.index],
          [spec.service, spec.releaseId, spec.version, spec.slot, spec.index],
        );
        assert.ok(info.host.length > 0, 'a host to dial');
        assert.ok(
          Number.isInteger(info.port) && info.port > 0 && info.port < 65_536,
          `a port to dial, got ${info.port}`,
        );
        assert.deepEqual(ids(runtime.list()), [info.id]);
        await assert.rejects(
          runtime.start(spec),
          (error: unknown) => isCutoverError(error) && error.code === 'INSTANCE_START_FAILED',
          'a running id is not started twice',
        );
        assert.deepEqual(ids(runtime.list()), [info.id]);
      });

      contractCase('health', 'the started instance answers its health probe', async () => {
        await answers(runtime, info);
      });

      contractCase('logs', "tailLog() returns the app's own output", async () => {
        await answers(runtime, info);
        let tail = '';
        await waitFor(
          async () => /listening on/.test((tail = await runtime.tailLog(info.id, 20))),
          patience(),
          () => `the app's start line in its log (got ${JSON.stringify(tail)})`,
        );
        assert.ok(tail.includes(String(info.port)), `the log names the port the app listens on: ${tail}`);
        assert.equal(await runtime.tailLog('nobody/none/blue-0', 20), '', 'an unknown instance has an empty log');
      });

      // Beside the instance already running: a real orchestrator pays a service per release, so the suite reuses it.
      contractCase(
        'failed-start',
        'a failed start throws INSTANCE_START_FAILED and leaves the other instances running',
        async () => {
          const exits = exitsOf(runtime);
          await answers(runtime, info);
          await assert.rejects(runtime.start(s.failingSpec(release('failing'), 0)), (error: unknown) => {
            assert.ok(isCutoverError(error), String(error));
            assert.equal(error.code, 'INSTANCE_START_FAILED');
            return true;
          });
          assert.deepEqual(ids(runtime.list()), [info.id]);
          assert.equal((await s.probe(runtime, info)).ok, true);
          assert.equal(exits.length, 0, 'no exit reported');
        },
      );
    });

    contractCase(
      'stop',
      'stop() ends an instance: onExit says expected, list() keeps exactly the running ones',
      async () => {
        const runtime = await newRuntime();
        const exits = exitsOf(runtime);
        const id = release('stopped');
        const [first, second] = await Promise.all<[Promise<InstanceInfo>, Promise<InstanceInfo>]>([
          runtime.start(s.goodSpec(id, 0)),
          runtime.start(s.goodSpec(id, 1)),
        ]);
        // A port of its own on a shared address, or (pods on a pod network) an address of its own.
        assert.notEqual(
          `${first.host}:${first.port}`,
          `${second.host}:${second.port}`,
          'each instance has an address of its own',
        );
        await Promise.all([answers(runtime, first), answers(runtime, second)]);
        assert.deepEqual(ids(runtime.list()), ids([first, second]));

        // The highest index first: a replicated orchestrator (Swarm) scales down from the top.
        await runtime.stop(second.id);
        assert.deepEqual(
          exits.map((exit) => [exit.instance.id, exit.expected]),
          [[second.id, true]],
        );
        assert.deepEqual(ids(runtime.list()), [first.id]);
        assert.equal((await s.probe(runtime, second)).ok, false, 'the stopped instance no longer answers');
        assert.equal((await s.probe(runtime, first)).ok, true, 'the other one still does');

        await runtime.stop(first.id);
        await runtime.stop(first.id);
        assert.deepEqual(
          exits.map((exit) => [exit.instance.id, exit.expected]),
          [
            [second.id, true],
            [first.id, true],
          ],
          'one exit per instance',
        );
        assert.deepEqual(runtime.list(), []);
        await runtime.stop('nobody/none/blue-0');
      },
    );

    contractCase(
      'crash',
      'a crash fires onExit with expected: false, and the instance can be started again under its id',
      async () => {
        const runtime = await newRuntime();
        const exits = exitsOf(runtime);
        const spec = s.goodSpec(release('crashed'), 0);
        const info = await runtime.start(spec);
        await answers(runtime, info);
        await s.crash(runtime, info);
        await waitFor(
          () => exits.length > 0,
          patience(),
          () => 'the exit event',
        );
        assert.deepEqual(
          exits.map((exit) => [exit.instance.id, exit.expected]),
          [[info.id, false]],
        );
        assert.deepEqual(runtime.list(), []);

        // What the supervisor does after a crash.
        const again = await runtime.start(spec);
        assert.equal(again.id, info.id);
        await answers(runtime, again);
        await runtime.stop(again.id);
        assert.deepEqual(
          exits.map((exit) => [exit.instance.id, exit.expected]),
          [
            [info.id, false],
            [info.id, true],
          ],
        );
      },
    );

    contractCase(
      'adopt',
      'after a controller restart, adopt() takes back exactly the live instances recorded',
      async () => {
        const old = await newRuntime();
        const id = release('adopted');
        const [live, gone] = await Promise.all<[Promise<InstanceInfo>, Promise<InstanceInfo>]>([
          old.start(s.goodSpec(id, 0)),
          old.start(s.goodSpec(id, 1)),
        ]);
        await answers(old, live);
        await old.stop(gone.id);

        const restarted = await newRuntime(old);
        const exits = exitsOf(restarted);
        assert.deepEqual(restarted.list(), [], 'nothing is managed before adopt()');
        const adopted = await restarted.adopt([live, gone]);
        assert.deepEqual(ids(adopted), [live.id], 'the stopped one is not taken back');
        assert.deepEqual(ids(restarted.list()), [live.id]);
        const back = adopted[0] as InstanceInfo;
        await answers(restarted, back);
        assert.deepEqual(await restarted.adopt([live]), [], 'an instance already managed is not adopted twice');

        await restarted.stop(back.id);
        assert.deepEqual(
          exits.map((exit) => [exit.instance.id, exit.expected]),
          [[live.id, true]],
        );
        assert.deepEqual(restarted.list(), []);
      },
    );

    contractCase(
      'detach',
      'detach() lets go of an instance without stopping it, and a runtime started after adopts it',
      async () => {
        const old = await newRuntime();
        const exits = exitsOf(old);
        const info = await old.start(s.goodSpec(release('detached'), 0));
        await answers(old, info);
        await old.detach();
        assert.deepEqual(exits, [], 'no exit: nothing was stopped');
        assert.equal((await s.probe(old, info)).ok, true, 'it still answers');

        const restarted = await newRuntime(old);
        assert.deepEqual(ids(await restarted.adopt([info])), [info.id]);
        await answers(restarted, info);
        await restarted.stop(info.id);
        assert.deepEqual(restarted.list(), []);
      },
    );

    contractCase(
      'adopt-refuses-token',
      'adopt() refuses a record whose pid token does not match the live instance',
      async () => {
        const old = await newRuntime();
        const info = await old.start(s.goodSpec(release('forged'), 0));
        await answers(old, info);
        const restarted = await newRuntime(old);
        assert.deepEqual(await restarted.adopt([{ ...info, pidToken: `not-${info.pidToken ?? 'a-token'}` }]), []);
        assert.deepEqual(await restarted.adopt([{ ...info, pidToken: null }]), [], 'nor one without a token');
        assert.deepEqual(restarted.list(), []);
        await old.stop(info.id);
      },
    );

    contractCase('port-conflict', 'an app that binds a port already taken fails, naming the port', async () => {
      const runtime = await newRuntime();
      const exits = exitsOf(runtime);
      const blocked = `:${s.blockedPort}`;
      let said: string;
      try {
        // Either start() refuses it, or the app starts, exits, and its log says why (the supervisor reads it there).
        const info = await runtime.start(s.conflictSpec(release('conflict'), 0));
        await waitFor(
          () => exits.length > 0,
          patience(),
          () => 'the exit of the app that could not bind its port',
        );
        assert.deepEqual(
          exits.map((exit) => [exit.instance.id, exit.expected]),
          [[info.id, false]],
        );
        said = await runtime.tailLog(info.id, 40);
      } catch (error) {
        if (!isCutoverError(error)) throw error;
        assert.equal(error.code, 'INSTANCE_START_FAILED', error.message);
        said = error.message;
      }
      const conflict = portConflictIn(said);
      assert.ok(conflict !== null && conflict.endsWith(blocked), `a port conflict on ${blocked} in: ${said}`);
      assert.deepEqual(runtime.list(), []);
    });

    contractCase('close', 'close() stops every instance, and nothing starts after it', async () => {
      const runtime = await newRuntime();
      const exits = exitsOf(runtime);
      const id = release('closed');
      const started = await Promise.all([runtime.start(s.goodSpec(id, 0)), runtime.start(s.goodSpec(id, 1))]);
      await Promise.all(started.map((info) => answers(runtime, info)));
      await runtime.close();
      assert.deepEqual(
        exits.map((exit) => [exit.instance.id, exit.expected]).sort(),
        started.map((info) => [info.id, true]).sort(),
      );
      assert.deepEqual(runtime.list(), []);
      for (const info of started)
        assert.equal((await s.probe(runtime, info)).ok, false, `${info.id} no longer answers`);
      await assert.rejects(
        runtime.start(s.goodSpec(release('late'), 0)),
        (error: unknown) => isCutoverError(error) && error.code === 'INSTANCE_START_FAILED',
      );
    });
  });
}

/** GET /health on the instance's host and port: what the real adapters' probe is. */
export async function httpHealthProbe(info: InstanceInfo): Promise<ProbeResult> {
  try {
    const response = await fetch(`http://${info.host}:${info.port}/health`, {
      headers: { connection: 'close' },
      signal: AbortSignal.timeout(2_000),
    });
    await response.arrayBuffer();
    return { ok: response.status === 200, detail: `answered ${response.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, detail: cause ?? String(error) };
  }
}

async function waitFor(done: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // From 1 ms up to 50 ms between looks: the fake answers at once, a container takes seconds.
  for (let pause = 1; !(await done()); pause = Math.min(pause * 2, 50)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
