import type { RollingStrategyConfig, ServiceConfig } from '../config/types.js';
import type { ClockTimer } from '../core/clock.js';
import { CutoverError } from '../core/errors.js';
import {
  isRollingTerminal,
  rollingTransition,
  startRolling,
  type RollingCommand,
  type RollingEvent,
  type RollingOptions,
  type RollingState,
} from '../core/rolling-strategy.js';
import type { ServiceRoute } from '../router/index.js';
import type { InstanceExit } from '../runtime/index.js';
import type { OperationRecord, ReleaseRecord } from '../store/records.js';
import { AnalysisRunner, type ProviderFor } from './analysis-runner.js';
import { MachineDriver, SHUTTING_DOWN, shutDownRuns, stoppedForShutdown } from './machine-driver.js';
import type { RunnerContext } from './runner-context.js';
import { notApplicable, type DeployStart, type RunProgress, type StrategyRunner } from './strategy-runner.js';
import { withDeployHint } from './failure-hint.js';

/**
 * Drives rolling (and recreate) updates: runs the pure rolling state machine
 * (core/rolling-strategy.ts). Old instances leave the rotation and are
 * drained one by one (router.drainUpstream) before they stop; new ones join
 * only when healthy. While both releases run, the new one is routed as a
 * weighted second target whose weight is its share of the instances.
 */
interface RollingRun {
  operation: OperationRecord;
  service: ServiceConfig;
  readonly state: RollingState;
  abort: AbortController;
  driver: MachineDriver<RollingState, RollingEvent, RollingCommand>;
  analysis: AnalysisRunner;
  analysisTemplates: string[];
  timers: Set<ClockTimer>;
}

/** Recreate is a rolling update in one stop-first batch of every instance: it causes downtime, by design. */
export function rollingOptionsOf(service: ServiceConfig): { options: RollingOptions; analysis: string[] } {
  const strategy = service.strategy;
  if (strategy.type === 'recreate') {
    return {
      options: {
        order: 'stop-first',
        batchSize: service.instances,
        delayMs: 0,
        monitorMs: 0,
        failureAction: 'rollback',
        maxFailureRatio: 0,
        deployTimeoutMs: strategy.deployTimeoutMs,
      },
      analysis: [],
    };
  }
  if (strategy.type !== 'rolling')
    throw new CutoverError('INVALID_STATE', `service ${service.name} does not use the rolling or recreate strategy`);
  const rolling: RollingStrategyConfig = strategy;
  return {
    options: {
      order: rolling.order,
      batchSize: rolling.parallelism,
      delayMs: rolling.delayMs,
      monitorMs: rolling.monitorMs,
      failureAction: rolling.failureAction,
      maxFailureRatio: rolling.maxFailureRatio,
      deployTimeoutMs: rolling.deployTimeoutMs,
      onInconclusive: rolling.onInconclusive,
    },
    analysis: rolling.analysis,
  };
}

export class RollingRunner implements StrategyRunner {
  private readonly runs = new Map<string, RollingRun>();

  private readonly providerFor: ProviderFor;
  private readonly now: () => number;

  constructor(private readonly ctx: RunnerContext) {
    this.providerFor = ctx.providerFor;
    this.now = () => ctx.clock.now();
  }

  running(service: string): RollingState | null {
    return this.runs.get(service)?.state ?? null;
  }

  isRunning(service: string): boolean {
    return this.runs.has(service);
  }

  progress(service: string): RunProgress | null {
    const state = this.running(service);
    return state ? { phase: state.phase } : null;
  }

  deploy(start: DeployStart): OperationRecord {
    const operation = startRollingOperation(this.ctx, start);
    this.start(start.service, operation, start.release, start.active!);
    return operation;
  }

  promote(name: string): Promise<OperationRecord> {
    return notApplicable.promote(name);
  }

  approve(name: string): Promise<OperationRecord> {
    return notApplicable.approve(name);
  }

  pause(name: string): Promise<OperationRecord> {
    return notApplicable.pauseOrResume(name, 'pause');
  }

  /** A rolling update has no post-promotion window to end. */
  finishWindow(name: string): Promise<OperationRecord> {
    return notApplicable.finish(name);
  }

  /** Goes on with an update that failure_action: pause stopped. */
  async resume(name: string, actor: string): Promise<OperationRecord> {
    const state = this.running(name);
    if (state)
      this.ctx.events.record({
        operationId: this.ctx.store.getLock(name)?.operationId ?? null,
        service: name,
        releaseId: state.releaseId,
        type: 'deploy.resume-requested',
        message: `resume requested by ${actor}`,
      });
    return this.command(name, { type: 'resume' });
  }

  abort(name: string, actor: string): Promise<OperationRecord> {
    return this.command(name, { type: 'abort', reason: `aborted by ${actor}` });
  }

  start(service: ServiceConfig, operation: OperationRecord, release: ReleaseRecord, previous: ReleaseRecord): void {
    const { options, analysis } = rollingOptionsOf(service);
    const transition = startRolling(
      { releaseId: release.id, previousReleaseId: previous.id, total: service.instances, options },
      this.now(),
    );
    const run: RollingRun = {
      operation,
      service,
      abort: new AbortController(),
      driver: null as unknown as RollingRun['driver'],
      get state() {
        return this.driver.state;
      },
      analysis: new AnalysisRunner(
        this.ctx.config.analysis,
        this.providerFor,
        this.ctx.events,
        { operationId: operation.id, service: service.name, releaseId: release.id },
        () => {},
        this.ctx.clock,
        this.ctx.syntheticLoad,
      ),
      analysisTemplates: analysis,
      timers: new Set(),
    };
    run.driver = new MachineDriver(
      transition.state,
      (current, event) => rollingTransition(current, event, this.now()),
      (command) => this.execute(run, command),
      () => this.persist(run),
      (error) => this.crashed(run, error),
    );
    this.runs.set(service.name, run);
    this.persist(run);
    void run.driver.begin(transition.commands);
  }

  async command(service: string, event: Extract<RollingEvent, { type: 'resume' | 'abort' }>): Promise<OperationRecord> {
    const run = this.runs.get(service);
    if (!run) throw new CutoverError('INVALID_STATE', `no rolling update of ${service} is running`);
    const before = run.state;
    if (event.type === 'abort') run.abort.abort(new CutoverError('DEPLOY_ABORTED', event.reason));
    await this.dispatch(run, event);
    if (run.state === before && event.type !== 'abort')
      throw new CutoverError(
        'INVALID_STATE',
        `the rolling update of ${service} is ${before.phase}${before.phase === 'paused' ? '' : ', not paused'}; ${event.type} does not apply`,
        {
          hint: `Run \`cutover status ${service}\` to see what the rolling update is doing; resume applies when it pauses.`,
        },
      );
    return this.ctx.store.getOperation(run.operation.id)!;
  }

  /** A restarted instance has a new port: re-route with it. */
  refresh(releaseId: string): boolean {
    for (const run of this.runs.values()) {
      if (run.state.releaseId === releaseId || run.state.previousReleaseId === releaseId) {
        this.route(run, this.currentShare(run)).catch((error: unknown) => {
          this.ctx.logger.error(
            { err: error, release: releaseId },
            'the rolling route with the restarted instance could not be applied',
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

  private dispatch(run: RollingRun, event: RollingEvent): Promise<void> {
    return run.driver.dispatch(event);
  }

  private persist(run: RollingRun): void {
    this.ctx.store.updateOperation(run.operation.id, {
      phase: run.state.phase,
      state: { strategy: 'rolling', ...run.state },
    });
  }

  private releases(run: RollingRun): { next: ReleaseRecord; previous: ReleaseRecord } {
    const store = this.ctx.store;
    return { next: store.getRelease(run.state.releaseId)!, previous: store.getRelease(run.state.previousReleaseId)! };
  }

  private async execute(run: RollingRun, command: RollingCommand): Promise<RollingEvent | null> {
    const { ctx } = this;
    const { supervisor } = ctx;
    const { service, operation } = run;
    const { next, previous } = this.releases(run);
    const base = { operationId: operation.id, service: service.name, releaseId: next.id };
    switch (command.type) {
      case 'start-new':
        try {
          const started = await supervisor.startInstances(
            { service, releaseId: next.id, version: next.version, slot: next.slot },
            command.indexes,
          );
          for (const info of started)
            ctx.events.record({
              ...base,
              type: 'instance.started',
              message: `instance ${info.id} started (pid ${info.pid}, port ${info.port})`,
              data: { id: info.id, pid: info.pid, port: info.port },
            });
          await supervisor.waitHealthy(next.id, command.deadline, run.abort.signal, command.indexes);
          ctx.events.record({
            ...base,
            type: 'instance.healthy',
            message: `instance(s) ${command.indexes.join(', ')} of ${next.id} are healthy`,
          });
          return { type: 'batch-healthy', batchIndex: command.batchIndex };
        } catch (error) {
          if (run.abort.signal.aborted) return null;
          return { type: 'batch-failed', batchIndex: command.batchIndex, message: (error as Error).message };
        }
      case 'stop-old':
        await this.stopAt(run, previous.id, command.indexes);
        return { type: 'old-stopped', batchIndex: command.batchIndex };
      case 'route':
        try {
          await this.route(run, command.newShare);
        } catch (error) {
          return {
            type: 'abort',
            reason: `the router could not apply ${command.newShare}%: ${(error as Error).message}`,
          };
        }
        ctx.events.record({
          ...base,
          type: 'rolling.share',
          message: `${command.newShare}% of traffic to ${next.version} (${next.id})`,
          data: { weight: command.newShare },
        });
        return null;
      case 'monitor':
        return this.monitor(run, command.batchIndex, command.indexes, command.until);
      case 'wait':
        await this.sleep(run, command.until);
        return { type: 'delay-elapsed', batchIndex: command.batchIndex };
      case 'roll-back': {
        const deadline = this.now() + rollingOptionsOf(service).options.deployTimeoutMs;
        if (command.indexes.length > 0) {
          try {
            const restarted = await supervisor.startInstances(
              { service, releaseId: previous.id, version: previous.version, slot: previous.slot },
              command.indexes,
            );
            for (const info of restarted)
              ctx.events.record({
                ...base,
                releaseId: previous.id,
                type: 'instance.started',
                message: `old instance ${info.id} started again (pid ${info.pid}, port ${info.port})`,
              });
            await supervisor.waitHealthy(previous.id, deadline, new AbortController().signal, command.indexes);
          } catch (error) {
            ctx.events.record({
              ...base,
              type: 'rolling.rollback-incomplete',
              level: 'error',
              message: `not every old instance came back healthy: ${(error as Error).message}`,
            });
          }
        }
        await this.route(run, 0);
        const all = supervisor.instancesOf(next.id).map((i) => i.info.index);
        await this.stopAt(run, next.id, all);
        await supervisor.stopRelease(next.id);
        ctx.events.record({
          ...base,
          type: 'rolling.rolled-back',
          level: 'warn',
          message: `back on ${previous.version} (${previous.id}) with ${supervisor.instancesOf(previous.id).length} instance(s)`,
        });
        return { type: 'rolled-back' };
      }
      case 'promote-release':
        await ctx.lifecycle.switchTraffic(service, next, operation.id);
        ctx.lifecycle.retire(service, previous.id, true, operation.id);
        return null;
      case 'announce':
        ctx.events.record({
          ...base,
          type: command.event,
          message: command.message,
          level: /fail|rollback|inconclusive|paused/.test(command.event) ? 'warn' : 'info',
        });
        return null;
      case 'finish':
        this.finish(run, command.outcome, command.error);
        return null;
    }
  }

  /** Out of rotation, drained, then stopped: no request is cut and none is sent to a closing instance. */
  private async stopAt(run: RollingRun, releaseId: string, indexes: number[]): Promise<void> {
    const { supervisor, router } = this.ctx;
    const instances = indexes.flatMap((i) => {
      const info = supervisor.instanceAt(releaseId, i);
      return info ? [info] : [];
    });
    for (const info of instances) supervisor.takeOutOfRotation(info.id);
    await Promise.all(instances.map((info) => router.drainUpstream(info.id, run.service.drainTimeoutMs)));
    await supervisor.stopInstances(releaseId, indexes);
    await this.route(run, this.currentShare(run));
  }

  private currentShare(run: RollingRun): number {
    const { supervisor } = this.ctx;
    const healthy = (id: string): number => supervisor.instancesOf(id).filter((i) => i.status === 'healthy').length;
    const fresh = healthy(run.state.releaseId);
    const old = healthy(run.state.previousReleaseId);
    return fresh + old === 0 ? 0 : Math.round((100 * fresh) / (fresh + old));
  }

  private async route(run: RollingRun, newShare: number): Promise<void> {
    const { ctx } = this;
    const { next, previous } = this.releases(run);
    const route: ServiceRoute = ctx.lifecycle.routeFor(run.service, previous);
    if (newShare > 0 && ctx.supervisor.upstreamsOf(next.id).length > 0) {
      route.canary = {
        target: {
          releaseId: next.id,
          version: next.version,
          slot: next.slot,
          upstreams: ctx.supervisor.upstreamsOf(next.id),
        },
        weight: newShare,
        // Per-request spread for clients without the cookie; a browser stays on one release for the update.
        stickiness: { by: 'cookie', name: 'cutover_rolling' },
        match: [],
      };
    }
    await ctx.router.setRoute(route);
    ctx.supervisor.syncRouterHealth(previous.id);
    ctx.supervisor.syncRouterHealth(next.id);
  }

  /** The batch's new instances must stay up and healthy (and its analysis must pass) for the window. */
  private async monitor(run: RollingRun, batchIndex: number, indexes: number[], until: number): Promise<RollingEvent> {
    const { supervisor } = this.ctx;
    const releaseId = run.state.releaseId;
    const wanted = new Set(indexes);
    if (run.analysisTemplates.length > 0) {
      const { next, previous } = this.releases(run);
      run.analysis.start('step', run.analysisTemplates, {
        service: run.service.name,
        canaryReleaseId: next.id,
        stableReleaseId: previous.id,
        windowStart: this.now(),
      });
    }
    const problem = await new Promise<string | null>((resolve) => {
      const done = (value: string | null): void => {
        timer.cancel();
        supervisor.off('health', onHealth);
        supervisor.off('exit', onExit);
        resolve(value);
      };
      const onHealth = (id: string, instanceId: string, status: string, last: { detail: string }): void => {
        const index = supervisor.instancesOf(id).find((i) => i.info.id === instanceId)?.info.index;
        if (id === releaseId && index !== undefined && wanted.has(index) && status === 'unhealthy')
          done(`instance ${instanceId} turned unhealthy in the monitor window (${last.detail})`);
      };
      const onExit = (id: string, exit: InstanceExit): void => {
        if (id === releaseId && !exit.expected && wanted.has(exit.instance.index))
          done(`instance ${exit.instance.id} exited in the monitor window`);
      };
      const timer = this.ctx.clock.schedule(() => done(null), Math.max(0, until - this.now()));
      supervisor.on('health', onHealth);
      supervisor.on('exit', onExit);
    });
    if (problem) {
      run.analysis.stop('step');
      return { type: 'batch-failed', batchIndex, message: problem };
    }
    if (run.analysisTemplates.length > 0) {
      const verdict = run.analysis.concludeExplained('step');
      if (verdict.phase === 'Failed') return { type: 'batch-failed', batchIndex, message: 'the batch analysis failed' };
      // No data (or no clear answer) does not vouch for the batch: on_inconclusive decides (core).
      if (verdict.phase === 'Inconclusive')
        return { type: 'monitor-inconclusive', batchIndex, message: verdict.message };
    }
    return { type: 'monitor-passed', batchIndex };
  }

  private sleep(run: RollingRun, until: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.ctx.clock.schedule(
        () => {
          run.timers.delete(timer);
          resolve();
        },
        Math.max(0, until - this.now()),
      );
      run.timers.add(timer);
    });
  }

  private finish(
    run: RollingRun,
    outcome: 'succeeded' | 'failed' | 'aborted',
    error: { code: string; message: string } | null,
  ): void {
    const { ctx } = this;
    const { service, state, operation } = run;
    for (const timer of run.timers) timer.cancel();
    run.analysis.stop('all');
    if (outcome !== 'succeeded') ctx.store.updateRelease(state.releaseId, { state: outcome, error });
    const active = ctx.lifecycle.activeRelease(service.name);
    const message =
      outcome === 'succeeded'
        ? `rolling update succeeded: ${active?.version} (${active?.id}) runs on all ${service.instances} instance(s)`
        : `rolling update ${outcome}: ${error?.message ?? ''}; ${active ? `${active.version} (${active.id})` : 'nothing'} serves ${service.name}`;
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

  private crashed(run: RollingRun, error: unknown): void {
    if (
      isRollingTerminal(run.state.phase) ||
      run.state.phase === 'rolling-back' ||
      stoppedForShutdown(run.abort.signal)
    )
      return;
    this.ctx.events.record({
      operationId: run.operation.id,
      service: run.service.name,
      releaseId: run.state.releaseId,
      type: 'deploy.crashed',
      level: 'error',
      message: `rolling update failed unexpectedly: ${(error as Error)?.message ?? String(error)}`,
    });
    void this.dispatch(run, { type: 'abort', reason: `internal error: ${(error as Error)?.message ?? String(error)}` });
  }
}

/**
 * The operation of a rolling or recreate update of a running release (here or
 * by the runtime's own rolling update), and its first event.
 */
export function startRollingOperation(
  ctx: RunnerContext,
  { service, request, operationId, release, active, now }: DeployStart,
): OperationRecord {
  if (!active)
    throw new CutoverError('INTERNAL', `a ${service.strategy.type} update of ${service.name} needs a running release`);
  const operation = ctx.store.createOperation({
    id: operationId,
    service: service.name,
    kind: 'deploy',
    releaseId: release.id,
    fromReleaseId: active.id,
    actor: request.actor,
    phase: 'starting-batch',
    state: null,
    startedAt: now,
  });
  ctx.events.record({
    operationId,
    service: service.name,
    releaseId: release.id,
    type: 'deploy.started',
    message:
      `${service.strategy.type} update of ${service.name} ${active.version} (${active.id}) → ${release.version} (${release.id}) started by ${request.actor}` +
      (service.strategy.type === 'recreate'
        ? '; recreate stops every instance first: the service is down until the new ones are healthy'
        : ''),
    data: { version: release.version, from: active.id, strategy: service.strategy.type },
    level: service.strategy.type === 'recreate' ? 'warn' : 'info',
  });
  return operation;
}
