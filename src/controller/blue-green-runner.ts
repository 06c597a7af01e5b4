import type { ServiceConfig } from '../config/types.js';
import {
  blueGreenTransition,
  isBeforeSwitch,
  resumeWatching,
  startBlueGreen,
  type BlueGreenCommand,
  type BlueGreenEvent,
  type BlueGreenState,
} from '../core/blue-green-strategy.js';
import { CutoverError } from '../core/errors.js';
import type { OperationKind, OperationRecord, ReleaseRecord } from '../store/records.js';
import { judgeBeforeSwitch, startWatch } from './blue-green-analysis.js';
import { blueGreenOf, type RunningOperation } from './blue-green-run.js';
import type { RunnerContext } from './runner-context.js';
import { MachineDriver, settleWithin, SHUTTING_DOWN } from './machine-driver.js';
import { runSmokeChecks } from './smoke-checks.js';
import {
  notApplicable,
  type DeployRequest,
  type DeployStart,
  type RunProgress,
  type StrategyRunner,
} from './strategy-runner.js';
import { withDeployHint } from './failure-hint.js';

/**
 * Drives blue-green deploys (and rollbacks that start an old release again):
 * runs the pure blue-green machine (core/blue-green-strategy.ts) against the
 * runtime, the router and the analysis runner, persisting every transition.
 */
export class BlueGreenRunner implements StrategyRunner {
  private readonly runs = new Map<string, RunningOperation>();
  private closing = false;

  private readonly now: () => number;

  constructor(private readonly ctx: RunnerContext) {
    this.now = () => ctx.clock.now();
  }

  running(service: string): RunningOperation | undefined {
    return this.runs.get(service);
  }

  isRunning(service: string): boolean {
    return this.runs.has(service);
  }

  progress(service: string): RunProgress | null {
    const run = this.runs.get(service);
    return run ? { phase: run.state.phase, windowEndsAt: run.windowEndsAt } : null;
  }

  check(service: ServiceConfig, request: DeployRequest): void {
    if (service.strategy.type === 'blue-green' && service.strategy.approval && request.autoSwitch) {
      throw new CutoverError(
        'BAD_REQUEST',
        `${service.name}'s switch needs an approval: --auto-switch cannot skip it`,
        { hint: `Deploy without --auto-switch, then \`cutover approve ${service.name}\`.` },
      );
    }
  }

  /** A blue-green deploy, or the first release of a rolling or recreate service (all its instances, then the traffic). */
  deploy({ service, request, operationId, release, active, now }: DeployStart): OperationRecord {
    if (service.strategy.type !== 'blue-green') {
      const transition = startBlueGreen(
        {
          releaseId: release.id,
          slot: release.slot,
          previousReleaseId: null,
          autoSwitch: true,
          autoCleanup: false,
          skipHealth: request.skipHealth ?? false,
          smokeChecks: 0,
          deployTimeoutMs: service.strategy.deployTimeoutMs,
        },
        now,
      );
      return this.launch(service, 'deploy', request.actor, operationId, release, active, transition, false);
    }
    const strategy = service.strategy;
    const transition = startBlueGreen(
      {
        releaseId: release.id,
        slot: release.slot,
        previousReleaseId: active?.id ?? null,
        autoSwitch: strategy.approval ? false : (request.autoSwitch ?? strategy.autoSwitch),
        autoCleanup: request.autoCleanup ?? strategy.autoCleanup,
        skipHealth: request.skipHealth ?? false,
        smokeChecks: strategy.smoke.length,
        deployTimeoutMs: strategy.deployTimeoutMs,
        postPromotion: strategy.postPromotion,
        prePromotion: strategy.prePromotion,
        approval: strategy.approval,
      },
      now,
    );
    return this.launch(service, 'deploy', request.actor, operationId, release, active, transition, false);
  }

  /** promote of a deploy waiting at `ready`; an approval gate is opened by approve, not by promote. */
  async promote(name: string, actor: string): Promise<OperationRecord> {
    const run = this.runs.get(name);
    if (
      run &&
      run.service.strategy.type === 'blue-green' &&
      run.service.strategy.approval &&
      run.state.phase === 'ready'
    ) {
      throw new CutoverError('INVALID_STATE', `${name} waits for an approval, which promote does not give`, {
        hint: `Run \`cutover approve ${name}\` (it is recorded with who approved), or abort.`,
      });
    }
    return this.promoteReady(name, actor);
  }

  /** Gives the approval a blue-green switch with `approval` waits for. */
  async approve(name: string, actor: string): Promise<OperationRecord> {
    const run = this.runs.get(name);
    if (
      run &&
      run.service.strategy.type === 'blue-green' &&
      run.service.strategy.approval &&
      run.state.phase === 'ready'
    ) {
      this.ctx.events.record({
        operationId: run.operation.id,
        service: name,
        releaseId: run.state.releaseId,
        type: 'deploy.approved',
        message: `switch approved by ${actor}`,
      });
      return this.promoteReady(name, actor);
    }
    return notApplicable.approve(name);
  }

  pause(name: string): Promise<OperationRecord> {
    return notApplicable.pauseOrResume(name, 'pause');
  }

  resume(name: string): Promise<OperationRecord> {
    return notApplicable.pauseOrResume(name, 'resume');
  }

  refresh(): boolean {
    return false;
  }

  /** promote of a deploy waiting at `ready`. */
  async promoteReady(name: string, actor: string): Promise<OperationRecord> {
    const run = this.runs.get(name);
    if (!run || run.state.phase !== 'ready') {
      throw new CutoverError(
        'INVALID_STATE',
        run
          ? `the ${run.operation.kind} of ${name} is ${run.state.phase}, not waiting for promote`
          : `no deploy of ${name} is waiting for promote`,
      );
    }
    this.ctx.events.record({
      operationId: run.operation.id,
      service: name,
      releaseId: run.state.releaseId,
      type: 'deploy.promoted',
      message: `promoted by ${actor}`,
    });
    await this.dispatch(run, { type: 'promote' });
    return this.ctx.store.getOperation(run.operation.id)!;
  }

  /** Ends a post-promotion window now: the new release stays, the previous one goes to standby as at the window's end. */
  async finishWindow(name: string, actor: string): Promise<OperationRecord> {
    const run = this.runs.get(name);
    if (!run || run.state.phase !== 'watching') return notApplicable.finish(name);
    const release = this.ctx.store.getRelease(run.state.releaseId);
    this.ctx.events.record({
      operationId: run.operation.id,
      service: name,
      releaseId: run.state.releaseId,
      type: 'deploy.window-finished',
      message: `post-promotion window ended early by ${actor}: ${release?.version ?? ''} (${run.state.releaseId}) keeps serving`,
    });
    await this.dispatch(run, { type: 'finish-window' });
    return this.ctx.store.getOperation(run.operation.id)!;
  }

  async abort(name: string, actor: string): Promise<OperationRecord> {
    const run = this.runs.get(name);
    if (run?.state.phase === 'watching') return this.abortAfterSwitch(run, actor);
    if (!run || !isBeforeSwitch(run.state.phase)) {
      throw new CutoverError(
        'INVALID_STATE',
        `no deploy of ${name} can be aborted (traffic moves only once; use rollback after a switch)`,
      );
    }
    const reason = `aborted by ${actor}`;
    run.abort.abort(new CutoverError('DEPLOY_ABORTED', reason));
    await this.dispatch(run, { type: 'abort', reason });
    return this.ctx.store.getOperation(run.operation.id)!;
  }

  /**
   * An abort in the post-promotion window: traffic has moved, so stopping means
   * rolling back; the event says so, and to what, before the switch back.
   */
  private async abortAfterSwitch(run: RunningOperation, actor: string): Promise<OperationRecord> {
    const previous = run.state.previousReleaseId ? this.ctx.store.getRelease(run.state.previousReleaseId) : null;
    const release = this.ctx.store.getRelease(run.state.releaseId);
    this.ctx.events.record({
      operationId: run.operation.id,
      service: run.service.name,
      releaseId: run.state.releaseId,
      type: 'deploy.abort-requested',
      level: 'warn',
      message:
        `aborted by ${actor} after the switch: rolling back from ${release?.version ?? ''} (${run.state.releaseId})` +
        ` to ${previous ? `${previous.version} (${previous.id})` : 'the previous release'}`,
    });
    await this.dispatch(run, { type: 'abort-after-switch', reason: `aborted by ${actor} after the switch` });
    return this.ctx.store.getOperation(run.operation.id)!;
  }

  async close(): Promise<void> {
    this.closing = true;
    const queues = [...this.runs.values()].map((run) => {
      run.abort.abort(new CutoverError('DEPLOY_ABORTED', SHUTTING_DOWN));
      run.analysis?.stop('all');
      run.windowTimer?.cancel();
      return this.dispatch(run, { type: 'abort', reason: SHUTTING_DOWN });
    });
    // An operation that ends now records its outcome; one that hangs is aborted by recovery at the next start.
    await settleWithin(queues, 5000);
  }

  /** Creates the operation record and starts the state machine in the background. */
  launch(
    service: ServiceConfig,
    kind: OperationKind,
    actor: string,
    operationId: string,
    release: ReleaseRecord,
    active: ReleaseRecord | null,
    transition: { state: BlueGreenState; commands: BlueGreenCommand[] },
    reusedRelease: boolean,
  ): OperationRecord {
    const operation = this.ctx.store.createOperation({
      id: operationId,
      service: service.name,
      kind,
      releaseId: release.id,
      fromReleaseId: active?.id ?? null,
      actor,
      phase: transition.state.phase,
      state: transition.state,
      startedAt: this.now(),
    });
    const run = this.track(operation, service, transition.state, reusedRelease);
    const verb = kind === 'rollback' ? 'rollback' : 'deploy';
    this.ctx.events.record({
      operationId,
      service: service.name,
      releaseId: release.id,
      type: `${verb}.started`,
      message:
        `${verb} of ${service.name} ${release.version} (${release.id}) to slot ${release.slot} started by ${actor}` +
        (active ? `; ${active.version} (${active.id}) keeps serving` : ''),
      data: { version: release.version, slot: release.slot, from: active?.id ?? null },
    });
    if (transition.state.skipHealth) {
      this.ctx.events.record({
        operationId,
        service: service.name,
        releaseId: release.id,
        type: 'health.skipped',
        level: 'warn',
        message: 'health checks skipped (--skip-health): the new release gets traffic without being verified',
      });
    }
    void run.driver.begin(transition.commands);
    return operation;
  }

  /**
   * Takes back a deploy that was `watching` when the controller stopped:
   * traffic had moved (the release is active), the previous release is still
   * standby for a switch back, and the post-promotion analysis runs again for
   * the rest of its window, which began at the switch.
   */
  resumeAfterRestart(
    service: ServiceConfig,
    operation: OperationRecord,
    state: BlueGreenState,
    switchedAt: number,
  ): void {
    const run = this.track(operation, service, state, false);
    const transition = resumeWatching(state, switchedAt, this.now());
    const left = Math.max(0, switchedAt + (state.postPromotion?.windowMs ?? 0) - this.now());
    this.ctx.events.record({
      operationId: operation.id,
      service: service.name,
      releaseId: state.releaseId,
      type: 'deploy.watch-resumed',
      message:
        `the controller restarted during the post-promotion window of ${state.releaseId}: ` +
        (left > 0
          ? `the analysis resumes for the remaining ${Math.ceil(left / 1000)} s`
          : 'the window ended while it was down; the deploy ends now'),
      data: { remainingMs: left },
    });
    if (transition.state !== state) {
      run.driver.state = transition.state;
      this.persist(run);
    }
    void run.driver.begin(transition.commands);
  }

  /**
   * A rollback asked for during the post-promotion window: the watch ends (the
   * deploy closes as aborted, its lock freed) and the caller's rollback moves
   * traffic back to the standby release.
   */
  async endWatch(name: string, reason: string): Promise<void> {
    const run = this.runs.get(name);
    if (!run || run.state.phase !== 'watching') return;
    await this.dispatch(run, { type: 'rollback-requested', reason });
  }

  /** Feeds an event from outside (promote, abort) in order with the machine's own. */
  dispatch(run: RunningOperation, event: BlueGreenEvent): Promise<void> {
    return run.driver.dispatch(event);
  }

  private track(
    operation: OperationRecord,
    service: ServiceConfig,
    state: BlueGreenState,
    reusedRelease: boolean,
  ): RunningOperation {
    const run: RunningOperation = {
      operation,
      service,
      abort: new AbortController(),
      reusedRelease,
      analysis: null,
      windowTimer: null,
      windowEndsAt: null,
      driver: null as unknown as RunningOperation['driver'],
      get state() {
        return this.driver.state;
      },
    };
    run.driver = new MachineDriver(
      state,
      blueGreenTransition,
      (command) => this.execute(run, command),
      () => this.persist(run),
      (error) => this.crashed(run, error),
    );
    this.runs.set(service.name, run);
    return run;
  }

  private persist(run: RunningOperation): void {
    this.ctx.store.updateOperation(run.operation.id, { phase: run.state.phase, state: run.state });
    if (run.state.phase === 'ready') this.ctx.store.updateRelease(run.state.releaseId, { state: 'ready' });
  }

  private async execute(run: RunningOperation, command: BlueGreenCommand): Promise<BlueGreenEvent | null> {
    const { service, state, operation } = run;
    const base = { operationId: operation.id, service: service.name, releaseId: state.releaseId };
    const release = this.ctx.store.getRelease(state.releaseId)!;
    switch (command.type) {
      case 'start-instances': {
        await this.ctx.lifecycle.freeSlot(service, state.slot, operation.id);
        try {
          const instances = await this.ctx.supervisor.startRelease({
            service,
            releaseId: release.id,
            version: release.version,
            slot: state.slot,
          });
          for (const info of instances) {
            this.ctx.events.record({
              ...base,
              type: 'instance.started',
              message: `instance ${info.id} started (pid ${info.pid}, port ${info.port})`,
              data: { id: info.id, pid: info.pid, port: info.port },
            });
          }
          return { type: 'instances-started' };
        } catch (error) {
          const e = error instanceof CutoverError ? error : new CutoverError('INSTANCE_START_FAILED', String(error));
          return { type: 'start-failed', code: e.code, message: e.message };
        }
      }
      case 'await-health': {
        this.ctx.events.record({
          ...base,
          type: 'health.waiting',
          message: `waiting for ${service.instances} instance(s) to pass health checks (timeout ${Math.round((command.deadline - this.now()) / 1000)} s)`,
        });
        const onHealth = (releaseId: string, instanceId: string, status: string, last: { detail: string }): void => {
          if (releaseId === release.id)
            this.ctx.events.record({
              ...base,
              type: `instance.${status}`,
              message: `instance ${instanceId} is ${status} (${last.detail})`,
            });
        };
        this.ctx.supervisor.on('health', onHealth);
        try {
          await this.ctx.supervisor.waitHealthy(release.id, command.deadline, run.abort.signal);
          this.ctx.events.record({
            ...base,
            type: 'release.healthy',
            message: `all ${service.instances} instance(s) of ${release.id} are healthy`,
          });
          return { type: 'all-healthy' };
        } catch (error) {
          if (run.abort.signal.aborted)
            return { type: 'abort', reason: String((run.abort.signal.reason as Error)?.message ?? 'aborted') };
          const e = error as CutoverError;
          if (e.code === 'HEALTH_FAILED') return { type: 'health-failed', message: e.message };
          return e.code === 'HEALTH_TIMEOUT'
            ? { type: 'deadline-passed', message: e.message }
            : { type: 'instance-exited', message: e.message };
        } finally {
          this.ctx.supervisor.off('health', onHealth);
        }
      }
      case 'run-smoke': {
        const instances = this.ctx.supervisor.instancesOf(release.id).map((i) => i.info);
        const smoke = blueGreenOf(service).smoke;
        const failure = await runSmokeChecks(instances, smoke);
        if (failure) return { type: 'smoke-failed', message: failure };
        this.ctx.events.record({
          ...base,
          type: 'smoke.passed',
          message: `${smoke.length} smoke check(s) passed on every instance`,
        });
        return { type: 'smoke-passed' };
      }
      case 'switch-traffic':
        try {
          await this.ctx.lifecycle.switchTraffic(service, release, operation.id);
        } catch (error) {
          const e = error as CutoverError;
          return { type: 'switch-failed', code: e.code ?? 'INTERNAL', message: `traffic was not moved: ${e.message}` };
        }
        return { type: 'switched' };
      case 'retire-previous':
        if (state.previousReleaseId)
          this.ctx.lifecycle.retire(service, state.previousReleaseId, command.immediately, operation.id);
        return null;
      case 'stop-new-release':
        await this.ctx.supervisor.stopRelease(release.id);
        return null;
      case 'announce':
        this.ctx.events.record({ ...base, type: command.event, message: command.message });
        return null;
      case 'analyse':
        return judgeBeforeSwitch(this.ctx, run, command);
      case 'watch':
        startWatch(this.ctx, run, command, (event) => this.dispatch(run, event));
        return null;
      case 'stop-analysis':
        run.analysis?.stop('all');
        run.windowTimer?.cancel();
        run.windowTimer = null;
        run.windowEndsAt = null;
        return null;
      case 'switch-back': {
        const previous = state.previousReleaseId ? this.ctx.store.getRelease(state.previousReleaseId) : null;
        if (!previous || !this.ctx.supervisor.isRunning(previous.id)) {
          this.ctx.events.record({
            ...base,
            type: 'deploy.switch-back-impossible',
            level: 'error',
            message: 'the previous release no longer runs; run `cutover rollback` to start it again',
          });
          return null;
        }
        try {
          await this.ctx.lifecycle.switchTraffic(service, previous, operation.id);
        } catch (error) {
          this.ctx.events.record({
            ...base,
            type: 'deploy.switch-back-impossible',
            level: 'error',
            message: `the router could not switch back to ${previous.id}: ${(error as Error).message}; ${release.id} keeps serving`,
          });
          return null;
        }
        await this.ctx.lifecycle.scaleDown(service, release.id, operation.id);
        this.ctx.events.record({
          ...base,
          type: 'deploy.rolled-back',
          level: 'error',
          message: `switched back to ${previous.version} (${previous.id})`,
        });
        return null;
      }
      case 'finish':
        this.finish(run, command.outcome, command.error);
        return null;
    }
  }

  private finish(
    run: RunningOperation,
    outcome: 'succeeded' | 'failed' | 'aborted',
    error: { code: string; message: string } | null,
  ): void {
    const { service, state, operation } = run;
    const now = this.now();
    // A watch ended by a person's rollback leaves the release serving until that rollback switches; it retires it then.
    if (outcome !== 'succeeded' && this.ctx.store.getService(service.name).activeReleaseId !== state.releaseId) {
      this.ctx.store.updateRelease(state.releaseId, {
        state: run.reusedRelease ? 'stopped' : outcome,
        error: error ? { ...error } : null,
      });
    }
    const active = this.ctx.lifecycle.activeRelease(service.name);
    const verb = operation.kind === 'rollback' ? 'rollback' : 'deploy';
    const message =
      outcome === 'succeeded'
        ? `${verb} succeeded: ${active?.version} (${active?.id}) serves ${service.name} from slot ${active?.slot}`
        : `${verb} ${outcome}: ${error?.message ?? ''}; traffic stays on ${active ? `${active.version} (${active.id})` : 'nothing (no release was active)'}`;
    this.ctx.events.record({
      operationId: operation.id,
      service: service.name,
      releaseId: state.releaseId,
      type: `${verb}.${outcome}`,
      message,
      level: outcome === 'succeeded' ? 'info' : 'error',
    });
    this.ctx.lifecycle.completeOperation(
      operation.id,
      service.name,
      outcome,
      withDeployHint(service, state.releaseId, outcome, error),
      now,
    );
    this.runs.delete(service.name);
    this.ctx.lifecycle.prune(service);
  }

  /** A bug inside the machine must not leave the lock held forever. */
  private crashed(run: RunningOperation, error: unknown): void {
    if (this.closing) return;
    this.ctx.events.record({
      operationId: run.operation.id,
      service: run.service.name,
      releaseId: run.state.releaseId,
      type: 'deploy.crashed',
      level: 'error',
      message: `operation failed unexpectedly: ${(error as Error)?.message ?? String(error)}`,
    });
    if (this.runs.get(run.service.name) === run && isBeforeSwitch(run.state.phase)) {
      const failure = {
        code: 'INTERNAL',
        message: `operation failed unexpectedly: ${(error as Error)?.message ?? String(error)}`,
      };
      void this.ctx.supervisor.stopRelease(run.state.releaseId).finally(() => this.finish(run, 'failed', failure));
    }
  }
}
