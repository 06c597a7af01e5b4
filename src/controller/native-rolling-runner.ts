import type { RollingStrategyConfig, ServiceConfig } from '../config/types.js';
import { CutoverError } from '../core/errors.js';
import type { ServiceRoute, Upstream } from '../router/index.js';
import type {
  NativeOrchestrator,
  NativeRollingUpdates,
  NativeUpdateProgress,
  NativeUpdateTask,
  Runtime,
} from '../runtime/index.js';
import type { OperationRecord, ReleaseRecord } from '../store/records.js';
import type { RunnerContext } from './runner-context.js';
import { AnalysisRunner } from './analysis-runner.js';
import { startRollingOperation } from './rolling-runner.js';
import { notApplicable, type DeployStart, type RunProgress, type StrategyRunner } from './strategy-runner.js';
import { withDeployHint } from './failure-hint.js';

/**
 * `strategy: rolling` on a runtime whose orchestrator updates instances
 * itself: Swarm's rolling update (`docker service update`) of the service
 * that runs the active release, or Kubernetes' RollingUpdate of the release's
 * Deployment. The strategy becomes the orchestrator's settings (Swarm's
 * UpdateConfig; a Deployment's maxSurge, maxUnavailable, minReadySeconds and
 * progressDeadlineSeconds). The orchestrator replaces the instances; cutover
 * follows them: the route lists whatever instances run (both generations
 * during the update), and every change of the update's state or of the
 * running instances is an event (`swarm.*`, `kubernetes.*`).
 *
 * Outcomes: `completed` makes the updated instances the new release's and
 * switches to it; `rollback_completed` (Swarm rolled back by failure_action:
 * rollback) ends the deploy failed with the orchestrator's reason, on the
 * previous release. `paused` (Swarm's failure_action: pause, a Deployment
 * past its progress deadline) is rolled back by cutover: a cutover deploy
 * never ends with a service half on each release and nothing to resume it
 * (failure_action: continue keeps going instead). Past the strategy's
 * timeout per batch, cutover asks for a rollback too, and `cutover abort`
 * does the same (the deploy then ends aborted).
 *
 * The orchestrator is behind the Runtime port's `nativeRollingUpdates`
 * capability (swarm-native-updates.ts, kubernetes-native-updates.ts): this
 * file never sees Docker or Kubernetes, only the update's state and its
 * running instances.
 */
const POLL_MS = 300;

/** Said of a runtime that offers no native update (the run then fails at once with INTERNAL). */
const UNKNOWN_ORCHESTRATOR: NativeOrchestrator = {
  name: 'the orchestrator',
  key: 'native',
  object: 'service',
  unit: 'instance',
  rolledBackCode: 'SWARM_ROLLED_BACK',
  undoHint: () => 'Deploy again.',
};

export class NativeRollingRunner implements StrategyRunner {
  private readonly runs = new Map<string, NativeRollingRun>();

  constructor(
    private readonly ctx: RunnerContext,
    private readonly runtime: Runtime,
  ) {}

  /** True when the service's runtime updates its instances itself (Swarm, Kubernetes with the pod network). */
  offers(service: ServiceConfig): boolean {
    return this.updatesOf(service) !== null;
  }

  start(service: ServiceConfig, operation: OperationRecord, release: ReleaseRecord, previous: ReleaseRecord): void {
    const run = new NativeRollingRun(this.ctx, this.updatesOf(service), service, operation, release, previous);
    this.runs.set(service.name, run);
    void run.run().finally(() => {
      if (this.runs.get(service.name) === run) this.runs.delete(service.name);
    });
  }

  isRunning(service: string): boolean {
    return this.runs.has(service);
  }

  /** The orchestrator's own state is in the operation's phase and events. */
  progress(): RunProgress | null {
    return null;
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

  resume(name: string): Promise<OperationRecord> {
    return notApplicable.pauseOrResume(name, 'resume');
  }

  refresh(): boolean {
    return false;
  }

  /** A run follows the orchestrator to its end by itself; at shutdown recovery closes what is left. */
  async close(): Promise<void> {}

  /** Asks the orchestrator to roll the update back; the deploy ends aborted once it did. */
  async abort(service: string, actor: string): Promise<OperationRecord> {
    const run = this.runs.get(service);
    if (!run) throw new CutoverError('INVALID_STATE', `no native rolling update of ${service} is running`);
    await run.abort(`aborted by ${actor}`);
    return this.ctx.store.getOperation(run.operationId)!;
  }

  private updatesOf(service: ServiceConfig): NativeRollingUpdates | null {
    return this.runtime.nativeRollingUpdates?.(service.name) ?? null;
  }
}

type Verdict = { outcome: 'completed' } | { outcome: 'rolled-back'; why: string; aborted: boolean };

class NativeRollingRun {
  private readonly strategy: RollingStrategyConfig;
  private readonly base: { operationId: string; service: string; releaseId: string };
  private routedKey = '';
  private serviceName = '';
  /** Why the orchestrator gave up: its first message of a rollback or pause (the final one only says "rollback completed"). */
  private firstProblem: string | null = null;
  /** Errors of the new release's instances seen so far (the orchestrator forgets them as it replaces them). */
  private readonly taskErrors = new Set<string>();
  /** Why cutover asked for a rollback (a pause, the timeout, an abort), once it did. */
  private rollbackAsked: string | null = null;
  private aborted = false;
  /** Judges the monitor windows when the strategy names analysis templates. */
  private readonly analysis: AnalysisRunner | null;
  private windowEndsAt: number | null = null;
  private freshServing = 0;
  /** The running instances last read, to route again at once when a rollback is asked for. */
  private lastTasks: NativeUpdateTask[] = [];
  /** A run of the analysis that failed before its window ended (its failure_limit reached). */
  private earlyFailure: string | null = null;

  constructor(
    private readonly ctx: RunnerContext,
    private readonly updates: NativeRollingUpdates | null,
    private readonly service: ServiceConfig,
    private readonly operation: OperationRecord,
    private readonly release: ReleaseRecord,
    private readonly previous: ReleaseRecord,
  ) {
    this.strategy = service.strategy as RollingStrategyConfig;
    this.base = { operationId: operation.id, service: service.name, releaseId: release.id };
    this.analysis =
      this.strategy.analysis.length === 0
        ? null
        : new AnalysisRunner(
            ctx.config.analysis,
            ctx.providerFor,
            ctx.events,
            this.base,
            (verdict) => {
              if (verdict.phase === 'Failed') this.earlyFailure ??= verdict.message;
            },
            ctx.clock,
            ctx.syntheticLoad,
          );
  }

  /** Whose update this is, in its own words (messages, event types, the error code of its rollback). */
  private get who(): NativeOrchestrator {
    return this.updates?.orchestrator ?? UNKNOWN_ORCHESTRATOR;
  }

  get operationId(): string {
    return this.operation.id;
  }

  async abort(reason: string): Promise<void> {
    if (this.rollbackAsked !== null || this.updates === null) return;
    this.aborted = true;
    this.rollbackAsked = reason;
    this.ctx.events.record({
      ...this.base,
      type: 'deploy.abort-requested',
      level: 'warn',
      message: `${reason}; asking ${this.who.name} to roll back`,
    });
    await this.rollBack(this.updates);
  }

  async run(): Promise<void> {
    const runtime = this.updates;
    try {
      if (!runtime)
        throw new CutoverError(
          'INTERNAL',
          `service ${this.service.name} has strategy rolling on an orchestrator, but its runtime updates nothing itself`,
        );
      const verdict = await this.update(runtime).finally(() => this.analysis?.stop('all'));
      if (verdict.outcome === 'completed') await this.adoptUpdated(runtime);
      else await this.backOnPrevious(runtime, verdict.why, verdict.aborted);
    } catch (error) {
      const e =
        error instanceof CutoverError
          ? error
          : new CutoverError('INTERNAL', (error as Error)?.message ?? String(error));
      try {
        this.finish('failed', { code: e.code, message: e.message });
      } catch {
        // The server is shutting down (store closed): recovery closes the operation at the next start.
      }
    }
  }

  /** Starts the orchestrator's update and follows it to its end. */
  private async update(runtime: NativeRollingUpdates): Promise<Verdict> {
    const { ctx, service, release, previous, strategy } = this;
    const started = await runtime.start(
      previous.id,
      {
        service: service.name,
        releaseId: release.id,
        version: release.version,
        slot: release.slot,
        command: service.command,
        env: service.env,
        stopGracePeriodMs: service.stopGracePeriodMs,
      },
      strategy,
    );
    this.serviceName = started.name;
    ctx.store.updateOperation(this.operation.id, { phase: `${this.who.key}-updating` });
    ctx.events.record({
      ...this.base,
      type: `${this.who.key}.update-started`,
      message:
        `${this.who.name} updates ${this.who.object} ${this.serviceName} from ${previous.version} to ${release.version}: parallelism ${strategy.parallelism}, order ${strategy.order}, ` +
        `delay ${strategy.delayMs} ms, monitor ${strategy.monitorMs} ms, failure_action ${strategy.failureAction}, max_failure_ratio ${strategy.maxFailureRatio}`,
      data: { service: this.serviceName, updateConfig: started.settings },
    });
    const batches = Math.ceil(service.instances / strategy.parallelism);
    const deadline =
      this.ctx.clock.now() + batches * (strategy.deployTimeoutMs + strategy.delayMs + strategy.monitorMs);
    let lastState: string | null = null;
    for (;;) {
      const progress = await runtime.progress(previous.id);
      for (const problem of progress.problems) this.taskErrors.add(problem);
      if (
        this.firstProblem === null &&
        progress.message &&
        (progress.state === 'paused' || progress.state?.startsWith('rollback'))
      )
        this.firstProblem = progress.message;
      await this.follow(progress.tasks);
      const failed = this.rollbackAsked === null ? this.judge(progress.state === 'completed') : null;
      if (failed !== null) {
        this.rollbackAsked = failed;
        ctx.events.record({
          ...this.base,
          type: 'rolling.analysis-failed',
          level: 'warn',
          message: `${failed}; asking ${this.who.name} to roll back`,
        });
        await this.rollBack(runtime);
      }
      if (progress.state !== lastState) {
        lastState = progress.state;
        if (progress.state) {
          const level = progress.state.startsWith('rollback') || progress.state === 'paused' ? 'warn' : 'info';
          ctx.events.record({
            ...this.base,
            type: `${this.who.key}.update-${progress.state.replace(/_/g, '-')}`,
            level,
            message: `${this.who.name}: update ${progress.state.replace(/_/g, ' ')}${progress.message ? `: ${progress.message}` : ''}`,
            data: { state: progress.state, message: progress.message },
          });
        }
      }
      switch (progress.state) {
        case 'completed':
          // Not once a rollback was asked for (the orchestrator has not taken it up yet), nor with a window open.
          if (this.rollbackAsked === null && this.windowEndsAt === null) return { outcome: 'completed' };
          break;
        case 'rollback_completed':
          return { outcome: 'rolled-back', why: this.rollbackAsked ?? this.reason(progress), aborted: this.aborted };
        case 'rollback_paused':
          throw new CutoverError(
            this.who.rolledBackCode,
            `${this.who.name}'s rollback of ${this.serviceName} paused: ${this.reason(progress)}; the ${this.who.object} may run ${this.who.unit}s of both releases`,
            { hint: this.who.undoHint(this.serviceName) },
          );
        case 'paused':
          if (this.rollbackAsked === null) {
            this.rollbackAsked = `${this.who.name} paused the update: ${this.reason(progress)}`;
            await this.rollBack(runtime);
          }
          break;
        default:
          if (this.rollbackAsked === null && this.ctx.clock.now() > deadline) {
            this.rollbackAsked = `the update did not finish within ${Math.round((deadline - this.operation.startedAt) / 1000)} s (${batches} batch(es) × the strategy's timeout)`;
            ctx.events.record({
              ...this.base,
              type: `${this.who.key}.update-timeout`,
              level: 'warn',
              message: `${this.rollbackAsked}; asking ${this.who.name} to roll back`,
            });
            await this.rollBack(runtime);
          }
      }
      if (this.ctx.clock.now() > deadline + strategy.deployTimeoutMs * batches + 60_000) {
        throw new CutoverError(
          this.who.rolledBackCode,
          `${this.who.name}'s update of ${this.serviceName} neither completed nor rolled back in time (state ${progress.state ?? 'none'})`,
        );
      }
      await this.ctx.clock.sleep(POLL_MS);
    }
  }

  /** The orchestrator's message, with the errors of the new release's failed instances (the "why"). */
  private reason(progress: NativeUpdateProgress): string {
    return [this.firstProblem ?? progress.message ?? `no message from ${this.who.name}`, ...this.taskErrors].join('; ');
  }

  /**
   * Asks the orchestrator to roll back, once the new release is out of the
   * canary target: the orchestrator stops its pods next, and a request routed
   * to them meanwhile would have nowhere else to go.
   */
  private async rollBack(runtime: NativeRollingUpdates): Promise<void> {
    await this.follow(this.lastTasks);
    await runtime.rollback(this.previous.id);
  }

  /** The route follows the running instances (old and new generation) while the orchestrator replaces them. */
  private async follow(tasks: NativeUpdateTask[]): Promise<void> {
    this.lastTasks = tasks;
    const serving = tasks.filter((t) => t.answers);
    const upstreamOf = (task: NativeUpdateTask, releaseId: string): Upstream => ({
      id: `${this.service.name}/${releaseId}/${this.who.key}-${this.who.unit}-${task.id.slice(0, 12)}`,
      host: task.host,
      port: task.port,
    });
    const freshTasks = serving.filter((t) => t.version === this.release.version);
    const oldTasks = serving.filter((t) => t.version !== this.release.version);
    const fresh = freshTasks.map((t) => upstreamOf(t, this.release.id));
    const old = oldTasks.map((t) => upstreamOf(t, this.previous.id));
    const split = fresh.length > 0 && this.rollbackAsked === null;
    const key = [...fresh, ...old]
      .map((u) => `${u.id}:${u.host}:${u.port}`)
      .sort()
      .concat(split ? ['split'] : [])
      .join(',');
    if (serving.length === 0 || key === this.routedKey) return;
    this.routedKey = key;
    const weight = Math.round((100 * fresh.length) / serving.length);
    // The new release's pods are a weighted second target, as cutover's own rolling runner routes them: the
    // router then counts each release apart, which the analysis of the monitor window judges. They are in the
    // old release's target too: the orchestrator stops old pods on its own schedule, and the last old pod of
    // a target must not be the only one a request there can be retried on. Once a rollback is asked for, the
    // new pods get no canary share (the orchestrator stops them next).
    const route: ServiceRoute = this.ctx.lifecycle.routeFor(this.service, this.previous);
    if (route.target) route.target = { ...route.target, upstreams: [...old, ...fresh] };
    if (split)
      route.canary = {
        target: {
          releaseId: this.release.id,
          version: this.release.version,
          slot: this.release.slot,
          upstreams: fresh,
        },
        weight,
        stickiness: { by: 'cookie', name: 'cutover_rolling' },
        match: [],
      };
    await this.ctx.router.setRoute(route);
    this.ctx.events.record({
      ...this.base,
      type: `${this.who.key}.${this.who.unit}s`,
      message: `${serving.length} ${this.who.unit}(s) serve ${this.service.name}: ${fresh.length} of ${this.release.version}, ${old.length} of ${this.previous.version}`,
      data: {
        tasks: tasks.map((t) => ({ id: t.id, slot: t.slot, version: t.version, port: t.port })),
        weight,
      },
    });
    if (fresh.length > this.freshServing) this.openWindow();
    this.freshServing = fresh.length;
  }

  /**
   * More of the new release serves (a batch landed): the analysis judges the
   * next `monitor` (at least 1 s) of the router's counts, the new release
   * against the old, as cutover's own runner does per batch.
   */
  private openWindow(): void {
    if (!this.analysis) return;
    this.analysis.stop('step');
    this.analysis.start('step', this.strategy.analysis, {
      service: this.service.name,
      canaryReleaseId: this.release.id,
      stableReleaseId: this.previous.id,
      windowStart: this.ctx.clock.now(),
    });
    this.windowEndsAt = this.ctx.clock.now() + Math.max(1_000, this.strategy.monitorMs);
  }

  /** The window's verdict once it ended (or at once when a run failed early); why to roll back, else null. */
  private judge(force: boolean): string | null {
    if (!this.analysis || this.windowEndsAt === null) return null;
    if (!force && this.ctx.clock.now() < this.windowEndsAt && this.earlyFailure === null) return null;
    this.windowEndsAt = null;
    const verdict = this.analysis.concludeExplained('step');
    this.analysis.stop('step');
    if (this.earlyFailure !== null || verdict.phase === 'Failed')
      return `the analysis failed in the monitor window: ${this.earlyFailure ?? verdict.message}`;
    if (verdict.phase === 'Inconclusive') {
      if (this.strategy.onInconclusive === 'fail')
        return `the analysis was inconclusive in the monitor window (on_inconclusive: fail): ${verdict.message}`;
      this.ctx.events.record({
        ...this.base,
        type: 'rolling.monitor-inconclusive',
        level: 'warn',
        message: `the analysis was inconclusive (${verdict.message}); ${this.who.name}'s update goes on (it cannot wait for a person: only on_inconclusive: fail stops it)`,
      });
    }
    return null;
  }

  /** The update completed: the updated instances are the new release's. */
  private async adoptUpdated(runtime: NativeRollingUpdates): Promise<void> {
    const { ctx, service, release, previous } = this;
    await runtime.finish(previous.id, 'completed', release.id);
    await ctx.supervisor.stopRelease(previous.id);
    const indexes = Array.from({ length: service.instances }, (_, i) => i);
    const started = await ctx.supervisor.startInstances(
      { service, releaseId: release.id, version: release.version, slot: release.slot },
      indexes,
    );
    for (const info of started)
      ctx.events.record({
        ...this.base,
        type: 'instance.started',
        message: `instance ${info.id} is ${this.who.name} ${this.who.unit} ${info.host}:${info.port}`,
        data: { id: info.id, port: info.port },
      });
    await ctx.supervisor.waitHealthy(
      release.id,
      this.ctx.clock.now() + this.strategy.deployTimeoutMs,
      new AbortController().signal,
    );
    await ctx.lifecycle.switchTraffic(service, release, this.operation.id);
    ctx.lifecycle.retire(service, previous.id, true, this.operation.id);
    this.finish('succeeded', null);
  }

  /** The orchestrator rolled back: the previous release's instances are bound to what it put back. */
  private async backOnPrevious(runtime: NativeRollingUpdates, why: string, aborted: boolean): Promise<void> {
    const { ctx, service, previous } = this;
    await runtime.finish(previous.id, 'rolled-back', this.release.id);
    try {
      await ctx.supervisor.waitHealthy(
        previous.id,
        this.ctx.clock.now() + this.strategy.deployTimeoutMs,
        new AbortController().signal,
      );
    } catch (error) {
      ctx.events.record({
        ...this.base,
        type: 'rolling.rollback-incomplete',
        level: 'error',
        message: `not every instance of ${previous.id} is healthy after ${this.who.name}'s rollback: ${(error as Error).message}`,
      });
    }
    await ctx.router.setRoute(ctx.lifecycle.routeFor(service, previous));
    ctx.supervisor.syncRouterHealth(previous.id);
    ctx.events.record({
      ...this.base,
      type: 'rolling.rolled-back',
      level: 'warn',
      message: `${this.who.name} rolled ${this.serviceName} back: ${previous.version} (${previous.id}) serves with ${ctx.supervisor.instancesOf(previous.id).length} instance(s)`,
    });
    this.finish(aborted ? 'aborted' : 'failed', {
      code: aborted ? 'DEPLOY_ABORTED' : this.who.rolledBackCode,
      message: `${this.who.name} rolled back the update of ${this.serviceName} to ${this.release.version}: ${why}; ${previous.version} (${previous.id}) serves ${service.name}`,
    });
  }

  private finish(outcome: 'succeeded' | 'failed' | 'aborted', error: { code: string; message: string } | null): void {
    const { ctx, service, release } = this;
    if (outcome !== 'succeeded') ctx.store.updateRelease(release.id, { state: outcome, error });
    const active = ctx.lifecycle.activeRelease(service.name);
    const message =
      outcome === 'succeeded'
        ? `${this.who.name} rolling update succeeded: ${active?.version} (${active?.id}) runs on all ${service.instances} ${this.who.unit}(s) of ${this.serviceName}`
        : `${this.who.name} rolling update ${outcome}: ${error?.message ?? ''}`;
    ctx.events.record({
      ...this.base,
      type: `deploy.${outcome}`,
      message,
      level: outcome === 'succeeded' ? 'info' : 'error',
    });
    ctx.lifecycle.completeOperation(
      this.operation.id,
      service.name,
      outcome,
      withDeployHint(service, release.id, outcome, error),
      this.ctx.clock.now(),
    );
    ctx.lifecycle.prune(service);
  }
}
