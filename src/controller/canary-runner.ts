import type { CanaryStrategyConfig, ServiceConfig } from '../config/types.js';
import {
  canaryTransition,
  isCanaryTerminal,
  startCanary,
  type CanaryCommand,
  type CanaryEvent,
  type CanaryState,
} from '../core/canary-strategy.js';
import type { ClockTimer } from '../core/clock.js';
import { canaryCommandRefusal } from '../core/canary-command-refusal.js';
import { CutoverError } from '../core/errors.js';
import type { ServiceRoute } from '../router/index.js';
import type { OperationRecord, ReleaseRecord } from '../store/records.js';
import { AnalysisRunner, type ProviderFor } from './analysis-runner.js';
import { MachineDriver, SHUTTING_DOWN, shutDownRuns, stoppedForShutdown } from './machine-driver.js';
import type { RunnerContext } from './runner-context.js';
import { notApplicable, type DeployStart, type RunProgress, type StrategyRunner } from './strategy-runner.js';
import { withDeployHint } from './failure-hint.js';

/**
 * Drives canary rollouts: runs the pure canary state machine (core/canary-strategy.ts)
 * against the runtime, the router's weighted canary route and the analysis
 * runner, persisting the state (weight and step included) after every transition.
 */
interface CanaryRun {
  operation: OperationRecord;
  service: ServiceConfig;
  strategy: CanaryStrategyConfig;
  readonly state: CanaryState;
  abort: AbortController;
  driver: MachineDriver<CanaryState, CanaryEvent, CanaryCommand>;
  analysis: AnalysisRunner;
  timers: Set<ClockTimer>;
}

export class CanaryRunner implements StrategyRunner {
  private readonly runs = new Map<string, CanaryRun>();

  private readonly providerFor: ProviderFor;
  private readonly now: () => number;

  constructor(private readonly ctx: RunnerContext) {
    this.providerFor = ctx.providerFor;
    this.now = () => ctx.clock.now();
  }

  running(service: string): CanaryState | null {
    return this.runs.get(service)?.state ?? null;
  }

  isRunning(service: string): boolean {
    return this.runs.has(service);
  }

  progress(service: string): RunProgress | null {
    const state = this.running(service);
    if (!state) return null;
    return {
      phase: state.phase,
      canary: state,
      windowEndsAt: state.phase === 'post-promotion' ? state.stepEndsAt : null,
    };
  }

  deploy({ service, request, operationId, release, active, now }: DeployStart): OperationRecord {
    const name = service.name;
    const operation = this.ctx.store.createOperation({
      id: operationId,
      service: name,
      kind: 'deploy',
      releaseId: release.id,
      fromReleaseId: active?.id ?? null,
      actor: request.actor,
      phase: 'starting',
      state: null,
      startedAt: now,
    });
    this.ctx.events.record({
      operationId,
      service: name,
      releaseId: release.id,
      type: 'deploy.started',
      message:
        `canary of ${name} ${release.version} (${release.id}) in slot ${release.slot} started by ${request.actor}` +
        (active ? `; ${active.version} (${active.id}) is the stable release` : ''),
      data: { version: release.version, slot: release.slot, from: active?.id ?? null, strategy: 'canary' },
    });
    this.start(service, operation, release, active);
    return operation;
  }

  /** The next step (or 100% with `full`); a step waiting for an approval needs approve instead. */
  async promote(name: string, actor: string, full: boolean): Promise<OperationRecord> {
    const state = this.running(name);
    if (state?.pausedBy === 'approval') {
      throw new CutoverError('INVALID_STATE', `${name} waits for an approval, which promote does not give`, {
        hint: `Run \`cutover approve ${name}\` (it is recorded with who approved), or abort.`,
      });
    }
    const run = this.runs.get(name);
    if (run) this.refuseUnlessItApplies(name, run.driver.state, { type: 'promote', full });
    if (state)
      this.requested(
        name,
        state.releaseId,
        'deploy.promoted',
        `promoted${full ? ' to 100%' : ' to the next step'} by ${actor}`,
      );
    return this.command(name, { type: 'promote', full });
  }

  async approve(name: string, actor: string): Promise<OperationRecord> {
    const state = this.running(name);
    if (state && state.pausedBy !== 'approval')
      throw new CutoverError(
        'INVALID_STATE',
        `the canary of ${name} is ${state.phase}${state.pausedBy ? ` (paused: ${state.pausedBy})` : ''}, not waiting for an approval`,
      );
    return this.command(name, { type: 'approve', actor });
  }

  /** Holds the current weight until resume. */
  async pause(name: string, actor: string): Promise<OperationRecord> {
    const state = this.running(name);
    const run = this.runs.get(name);
    if (run) this.refuseUnlessItApplies(name, run.driver.state, { type: 'pause' });
    if (state) this.requested(name, state.releaseId, 'deploy.pause-requested', `pause requested by ${actor}`);
    return this.command(name, { type: 'pause' });
  }

  async resume(name: string, actor: string): Promise<OperationRecord> {
    const state = this.running(name);
    const run = this.runs.get(name);
    if (run) this.refuseUnlessItApplies(name, run.driver.state, { type: 'resume' });
    if (state) this.requested(name, state.releaseId, 'deploy.resume-requested', `resume requested by ${actor}`);
    return this.command(name, { type: 'resume' });
  }

  /** Before promotion the canary's share goes back to the stable release; after it, the abort is a rollback, said first. */
  abort(name: string, actor: string): Promise<OperationRecord> {
    const state = this.running(name);
    if (state?.promoted) {
      const stable = state.stableReleaseId ? this.ctx.store.getRelease(state.stableReleaseId) : null;
      const release = this.ctx.store.getRelease(state.releaseId);
      this.requested(
        name,
        state.releaseId,
        'deploy.abort-requested',
        `aborted by ${actor} after promotion: rolling back from ${release?.version ?? ''} (${state.releaseId})` +
          ` to ${stable ? `${stable.version} (${stable.id})` : 'the stable release'}`,
      );
    }
    return this.command(name, { type: 'abort', reason: `aborted by ${actor}` });
  }

  /** Ends the post-promotion window now, keeping the promoted release (`cutover finish`). */
  async finishWindow(name: string, actor: string): Promise<OperationRecord> {
    const run = this.runs.get(name);
    if (!run || run.state.phase !== 'post-promotion') return notApplicable.finish(name);
    const release = this.ctx.store.getRelease(run.state.releaseId);
    this.requested(
      name,
      run.state.releaseId,
      'deploy.window-finished',
      `post-promotion window ended early by ${actor}: ${release?.version ?? ''} (${run.state.releaseId}) keeps serving`,
    );
    await this.dispatch(run, { type: 'window-elapsed' });
    return this.ctx.store.getOperation(run.operation.id)!;
  }

  /** A person's command, recorded before the machine acts on it. */
  private requested(name: string, releaseId: string, type: string, message: string): void {
    this.ctx.events.record({
      operationId: this.ctx.store.getLock(name)?.operationId ?? null,
      service: name,
      releaseId,
      type,
      message,
    });
  }

  start(
    service: ServiceConfig,
    operation: OperationRecord,
    release: ReleaseRecord,
    stable: ReleaseRecord | null,
  ): void {
    const strategy = canaryOf(service);
    const transition = startCanary(
      {
        releaseId: release.id,
        stableReleaseId: stable?.id ?? null,
        slot: release.slot,
        steps: strategy.steps,
        backgroundAnalysis: strategy.analysis,
        postPromotion: strategy.postPromotion,
        deployTimeoutMs: strategy.deployTimeoutMs,
      },
      this.now(),
    );
    const run = this.newRun(service, operation, transition.state);
    this.persist(run);
    void run.driver.begin(transition.commands);
  }

  /**
   * Takes back a rollout interrupted by a controller restart, from its persisted
   * state (recovery.ts has adopted the canary's instances and checked that they
   * all survived). The route comes back at once at the persisted weight, never
   * higher; the analysis starts again with a new window; the step's timer is
   * re-armed from the persisted end (a step whose time ran out while the
   * controller was down ends now); a paused rollout stays paused.
   */
  async resumeAfterRestart(service: ServiceConfig, operation: OperationRecord, state: CanaryState): Promise<void> {
    const run = this.newRun(service, operation, state);
    try {
      await this.applyWeight(run, state.weight);
    } catch (error) {
      this.runs.delete(service.name);
      throw error;
    }
    const left =
      state.phase === 'stepping' && state.stepEndsAt !== null ? Math.max(0, state.stepEndsAt - this.now()) : null;
    const where =
      state.phase === 'paused'
        ? `paused (${state.pausedBy === 'step' ? 'waiting for promote' : state.pausedBy})`
        : left === null
          ? state.phase
          : `${Math.round(left / 1000)} s left of the step`;
    this.ctx.events.record({
      operationId: operation.id,
      service: service.name,
      releaseId: state.releaseId,
      type: 'canary.resumed',
      level: 'warn',
      message: `resumed after a controller restart at ${state.weight}% (step ${state.stepIndex + 1}/${state.steps.length}, ${where})`,
      data: { weight: state.weight, stepIndex: state.stepIndex, phase: state.phase, afterRestart: true },
    });
    void run.driver.begin(resumeCommands(state));
  }

  /** promote (next step, or --full), pause, resume, abort from a person. */
  async command(
    service: string,
    event: Extract<CanaryEvent, { type: 'promote' | 'approve' | 'pause' | 'resume' | 'abort' }>,
  ): Promise<OperationRecord> {
    const run = this.runs.get(service);
    if (!run) throw new CutoverError('INVALID_STATE', `no canary of ${service} is running`);
    const before = run.state;
    if (event.type === 'abort') run.abort.abort(new CutoverError('DEPLOY_ABORTED', event.reason));
    else this.refuseUnlessItApplies(service, run.driver.state, event);
    await this.dispatch(run, event);
    if (run.state === before && event.type !== 'abort') {
      const refusal = canaryCommandRefusal(before, service, event.type);
      throw new CutoverError('INVALID_STATE', refusal.message, { hint: refusal.hint });
    }
    return this.ctx.store.getOperation(run.operation.id)!;
  }

  /**
   * A person's command is judged against the state they acted on. The driver
   * queues it behind the transition in progress, so a promote given while the
   * canary was still starting waited, then ended step 1 the moment it began:
   * its weight (and its `pause: promote` gate) was skipped by a promote given
   * before anyone could have looked at it.
   */
  private refuseUnlessItApplies(
    service: string,
    state: CanaryState,
    event: Extract<CanaryEvent, { type: 'promote' | 'approve' | 'pause' | 'resume' }>,
  ): void {
    if (canaryTransition(state, event, this.now()).state !== state) return;
    const refusal = canaryCommandRefusal(state, service, event.type);
    throw new CutoverError('INVALID_STATE', refusal.message, { hint: refusal.hint });
  }

  /** A restarted canary instance has a new port: re-route the canary with it. */
  refresh(releaseId: string): boolean {
    for (const run of this.runs.values()) {
      if (run.state.releaseId === releaseId && !run.state.promoted && run.state.weight > 0) {
        this.applyWeight(run, run.state.weight).catch((error: unknown) => {
          this.ctx.logger.error(
            { err: error, release: releaseId },
            'the canary route with the restarted instance could not be applied',
          );
        });
        return true;
      }
    }
    return false;
  }

  async close(): Promise<void> {
    await shutDownRuns(this.runs.values(), new CutoverError('DEPLOY_ABORTED', SHUTTING_DOWN));
  }

  private newRun(service: ServiceConfig, operation: OperationRecord, state: CanaryState): CanaryRun {
    const run: CanaryRun = {
      operation,
      service,
      strategy: canaryOf(service),
      abort: new AbortController(),
      driver: null as unknown as CanaryRun['driver'],
      analysis: null as unknown as AnalysisRunner,
      timers: new Set(),
      get state() {
        return this.driver.state;
      },
    };
    run.driver = new MachineDriver(
      state,
      (current, event) => canaryTransition(current, event, this.now()),
      (command) => this.execute(run, command),
      () => this.persist(run),
      (error) => this.crashed(run, error),
    );
    run.analysis = new AnalysisRunner(
      this.ctx.config.analysis,
      this.providerFor,
      this.ctx.events,
      { operationId: operation.id, service: service.name, releaseId: state.releaseId },
      (verdict) => {
        if (verdict.phase === 'Failed') {
          void this.dispatch(run, { type: 'analysis-failed', message: verdict.message });
          return;
        }
        const event = this.onInconclusive(run, verdict.message);
        if (event) void this.dispatch(run, event);
      },
      this.ctx.clock,
      this.ctx.syntheticLoad,
    );
    this.runs.set(service.name, run);
    return run;
  }

  /**
   * An inconclusive analysis under on_inconclusive: pause (the machine pauses the rollout for a
   * person), fail (as a failed analysis: the canary is rolled back), or continue (a warning; null).
   */
  private onInconclusive(run: CanaryRun, message: string): CanaryEvent | null {
    const policy = run.strategy.onInconclusive ?? 'pause';
    if (policy === 'fail')
      return { type: 'analysis-failed', message: `${message} (inconclusive; on_inconclusive: fail)` };
    if (policy === 'pause') return { type: 'analysis-inconclusive', message };
    this.ctx.events.record({
      operationId: run.operation.id,
      service: run.service.name,
      releaseId: run.state.releaseId,
      type: 'analysis.inconclusive',
      level: 'warn',
      message: `${message}; on_inconclusive: continue goes on`,
    });
    return null;
  }

  private dispatch(run: CanaryRun, event: CanaryEvent): Promise<void> {
    return run.driver.dispatch(event);
  }

  private persist(run: CanaryRun): void {
    this.ctx.store.updateOperation(run.operation.id, {
      phase: run.state.phase,
      state: { strategy: 'canary', ...run.state },
    });
  }

  private async execute(run: CanaryRun, command: CanaryCommand): Promise<CanaryEvent | null> {
    const { ctx } = this;
    const { service, state, operation } = run;
    const base = { operationId: operation.id, service: service.name, releaseId: state.releaseId };
    const release = ctx.store.getRelease(state.releaseId)!;
    const supervisor = ctx.supervisor;
    switch (command.type) {
      case 'start-instances': {
        await ctx.lifecycle.freeSlot(service, state.slot, operation.id);
        try {
          const instances = await supervisor.startRelease({
            service: {
              ...service,
              instances: state.stableReleaseId ? run.strategy.canaryInstances : service.instances,
            },
            releaseId: release.id,
            version: release.version,
            slot: state.slot,
          });
          for (const info of instances) {
            ctx.events.record({
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
      case 'await-health':
        try {
          ctx.events.record({
            ...base,
            type: 'health.waiting',
            message: 'waiting for the canary instance(s) to pass health checks',
          });
          await supervisor.waitHealthy(release.id, command.deadline, run.abort.signal);
          ctx.events.record({
            ...base,
            type: 'release.healthy',
            message: `all instances of ${release.id} are healthy`,
          });
          return { type: 'all-healthy' };
        } catch (error) {
          if (run.abort.signal.aborted) return null;
          const e = error as CutoverError;
          if (e.code === 'HEALTH_FAILED') return { type: 'health-failed', message: e.message };
          return e.code === 'HEALTH_TIMEOUT'
            ? { type: 'deadline-passed', message: e.message }
            : { type: 'instance-exited', message: e.message };
        }
      case 'set-weight':
        try {
          await this.applyWeight(run, command.weight);
        } catch (error) {
          return {
            type: 'abort',
            reason: `the router could not apply ${command.weight}%: ${(error as Error).message}`,
          };
        }
        ctx.events.record({
          ...base,
          type: 'canary.weight',
          message: `canary ${release.version} (${release.id}) gets ${command.weight}% of traffic`,
          data: { weight: command.weight },
        });
        return null;
      case 'start-analysis':
        run.analysis.start(command.scope, command.templates, {
          service: service.name,
          canaryReleaseId: release.id,
          stableReleaseId: state.stableReleaseId,
          windowStart: this.now(),
          latencySamples: ctx.router.latencySamples ? (s, r) => ctx.router.latencySamples!(s, r) : undefined,
        });
        return null;
      case 'conclude-step': {
        const { phase, message } = run.analysis.concludeExplained('step');
        if (phase === 'Inconclusive') {
          const event = this.onInconclusive(run, message);
          if (event?.type === 'analysis-failed') return event;
          if (event === null) return { type: 'step-concluded', stepIndex: command.stepIndex, phase: 'Successful' };
        }
        return {
          type: 'step-concluded',
          stepIndex: command.stepIndex,
          phase: phase === 'Running' ? 'Successful' : phase,
        };
      }
      case 'stop-analysis':
        run.analysis.stop(command.scope);
        return null;
      case 'schedule-step-end':
        this.timer(run, command.at, { type: 'step-elapsed', stepIndex: command.stepIndex });
        return null;
      case 'schedule-window-end':
        this.timer(run, command.at, { type: 'window-elapsed' });
        return null;
      case 'promote-release': {
        if (state.stableReleaseId && run.strategy.canaryInstances < service.instances) {
          // The canary ran with fewer instances; it takes all the traffic only at full size.
          await supervisor.resize(release.id, service);
          await supervisor
            .waitHealthy(release.id, this.now() + run.strategy.deployTimeoutMs, run.abort.signal)
            .catch((error: unknown) => {
              ctx.events.record({
                ...base,
                type: 'instance.unhealthy',
                level: 'warn',
                message: `not every added instance became healthy before the switch: ${(error as Error).message}`,
              });
            });
        }
        try {
          await ctx.lifecycle.switchTraffic(service, release, operation.id);
        } catch (error) {
          return {
            type: 'abort',
            reason: `the router could not send all traffic to ${release.id}: ${(error as Error).message}`,
          };
        }
        if (state.stableReleaseId) ctx.lifecycle.retire(service, state.stableReleaseId, false, operation.id);
        ctx.events.record({
          ...base,
          type: 'canary.promoted',
          message: `canary ${release.version} (${release.id}) promoted: it serves all traffic`,
        });
        return null;
      }
      case 'roll-back': {
        const stable = state.stableReleaseId ? ctx.store.getRelease(state.stableReleaseId) : null;
        if (stable && supervisor.isRunning(stable.id)) {
          await ctx.lifecycle.switchTraffic(service, stable, operation.id);
          ctx.store.updateRelease(release.id, { state: 'standby' });
          await ctx.lifecycle.scaleDown(service, release.id, operation.id);
          ctx.events.record({
            ...base,
            type: 'canary.rolled-back',
            level: 'error',
            message: `rolled back to ${stable.version} (${stable.id})`,
          });
        } else {
          ctx.events.record({
            ...base,
            type: 'canary.rollback-impossible',
            level: 'error',
            message: 'the stable release is no longer running; run `cutover rollback` to start it again',
          });
        }
        return null;
      }
      case 'stop-canary': {
        const stable = state.stableReleaseId ? ctx.store.getRelease(state.stableReleaseId) : null;
        await ctx.router.setRoute(ctx.lifecycle.routeFor(service, stable));
        if (stable) supervisor.syncRouterHealth(stable.id);
        const drained = await ctx.router.drain(service.name, release.id, service.drainTimeoutMs);
        await supervisor.stopRelease(release.id);
        ctx.events.record({
          ...base,
          type: 'canary.stopped',
          message: `canary ${release.id} stopped${drained.closed ? ` (closed ${drained.closed} connection(s) at the drain timeout)` : ''}`,
        });
        return null;
      }
      case 'announce':
        ctx.events.record({ ...base, type: command.event, message: command.message });
        return null;
      case 'finish':
        this.finish(run, command.outcome, command.error);
        return null;
    }
  }

  private async applyWeight(run: CanaryRun, weight: number): Promise<void> {
    const { ctx } = this;
    const stable = run.state.stableReleaseId ? ctx.store.getRelease(run.state.stableReleaseId) : null;
    const canary = ctx.store.getRelease(run.state.releaseId)!;
    const route: ServiceRoute = {
      ...ctx.lifecycle.routeFor(run.service, stable),
      canary: {
        target: {
          releaseId: canary.id,
          version: canary.version,
          slot: canary.slot,
          upstreams: ctx.supervisor.upstreamsOf(canary.id),
        },
        weight,
        stickiness: run.strategy.stickiness,
        match: run.strategy.match,
      },
    };
    await ctx.router.setRoute(route);
    ctx.supervisor.setSupervised(canary.id, true);
    ctx.supervisor.syncRouterHealth(canary.id);
    if (stable) ctx.supervisor.syncRouterHealth(stable.id);
  }

  private timer(run: CanaryRun, at: number, event: CanaryEvent): void {
    const timer = this.ctx.clock.schedule(
      () => {
        run.timers.delete(timer);
        void this.dispatch(run, event);
      },
      Math.max(0, at - this.now()),
    );
    run.timers.add(timer);
  }

  private finish(
    run: CanaryRun,
    outcome: 'succeeded' | 'failed' | 'aborted',
    error: { code: string; message: string } | null,
  ): void {
    const { ctx } = this;
    const { service, state, operation } = run;
    for (const timer of run.timers) timer.cancel();
    run.timers.clear();
    if (outcome !== 'succeeded') {
      const current = ctx.store.getRelease(state.releaseId);
      if (current && current.state !== 'active')
        ctx.store.updateRelease(state.releaseId, {
          state: outcome === 'aborted' ? 'aborted' : state.promoted ? 'stopped' : 'failed',
          error,
        });
    }
    const active = ctx.lifecycle.activeRelease(service.name);
    const message =
      outcome === 'succeeded'
        ? `canary succeeded: ${active?.version} (${active?.id}) serves ${service.name}`
        : `canary ${state.phase}: ${error?.message ?? ''}; traffic is on ${active ? `${active.version} (${active.id})` : 'nothing'}`;
    ctx.events.record({
      operationId: operation.id,
      service: service.name,
      releaseId: state.releaseId,
      type: `deploy.${outcome}`,
      message,
      level: outcome === 'succeeded' ? 'info' : 'error',
    });
    ctx.lifecycle.completeOperation(
      operation.id,
      service.name,
      outcome,
      withDeployHint(service, state.releaseId, outcome, error),
      this.now(),
    );
    this.runs.delete(service.name);
    ctx.lifecycle.prune(service);
  }

  private crashed(run: CanaryRun, error: unknown): void {
    if (isCanaryTerminal(run.state.phase) || stoppedForShutdown(run.abort.signal)) return;
    this.ctx.events.record({
      operationId: run.operation.id,
      service: run.service.name,
      releaseId: run.state.releaseId,
      type: 'deploy.crashed',
      level: 'error',
      message: `canary failed unexpectedly: ${(error as Error)?.message ?? String(error)}`,
    });
    void this.dispatch(run, { type: 'abort', reason: `internal error: ${(error as Error)?.message ?? String(error)}` });
  }
}

/**
 * What a rollout resumed after a restart re-arms, from its persisted state
 * alone: the background and step analysis (new windows: the measurements of
 * before the restart are history, not evidence) and the end of its step.
 * Never a weight: the route is restored as persisted, so no client moves.
 * Pure, so it reads like the strategy's transitions (core/canary-strategy.ts).
 */
export function resumeCommands(state: CanaryState): CanaryCommand[] {
  const commands: CanaryCommand[] = [];
  const step = state.steps[state.stepIndex];
  if (state.backgroundAnalysis.length > 0) {
    commands.push({
      type: 'start-analysis',
      scope: 'background',
      templates: state.backgroundAnalysis,
      stepIndex: state.stepIndex,
    });
  }
  // Paused on an inconclusive verdict: a person decides; fresh runs of the step would only ask again.
  if (step && step.analysis.length > 0 && state.pausedBy !== 'inconclusive') {
    commands.push({ type: 'start-analysis', scope: 'step', templates: step.analysis, stepIndex: state.stepIndex });
  }
  // A step that ended while the controller was down ends now: its fresh analysis has measured nothing,
  // so a step judged by analysis pauses for a person instead of moving on unvouched.
  if (state.phase === 'stepping')
    commands.push({ type: 'schedule-step-end', stepIndex: state.stepIndex, at: state.stepEndsAt ?? 0 });
  if (state.phase === 'concluding') commands.push({ type: 'conclude-step', stepIndex: state.stepIndex });
  return commands;
}

export function canaryOf(service: ServiceConfig): CanaryStrategyConfig {
  if (service.strategy.type !== 'canary')
    throw new CutoverError('INVALID_STATE', `service ${service.name} does not use the canary strategy`);
  return service.strategy;
}
