import type { Logger } from 'pino';
import type { BlueGreenStrategyConfig, CutoverConfig, ServiceConfig } from '../config/types.js';
import { configHash } from '../config/config-hash.js';
import { redactServiceConfig } from '../config/redact.js';
import {
  blueGreenTransition, isBeforeSwitch, startBlueGreen,
  type BlueGreenCommand, type BlueGreenEvent, type BlueGreenState,
} from '../core/blue-green-strategy.js';
import { CutoverError } from '../core/errors.js';
import { findRelease, idleSlot, previousRelease, releasesToPrune } from '../core/release-selection.js';
import type { Slot } from '../core/slot.js';
import type { Router, ServiceRoute } from '../router/index.js';
import type { Runtime } from '../runtime/index.js';
import type { OperationKind, OperationRecord, ReleaseRecord } from '../store/records.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { EventLog } from './event-log.js';
import { gitInfo } from './git-info.js';
import { InstanceSupervisor } from './instance-supervisor.js';
import { newOperationId } from './operation-ids.js';
import { createProvider } from '../analysis/provider-factory.js';
import { toMeasurement, type AnalysisMeasurement } from './analysis-measurement.js';
import { AnalysisRunner, type ProviderFor } from './analysis-runner.js';
import { CanaryRunner } from './canary-runner.js';
import { RollingRunner } from './rolling-runner.js';
import { recoverAfterRestart } from './recovery.js';
import { serviceStatus, type ServiceStatus } from './service-status.js';
import { runSmokeChecks } from './smoke-checks.js';

export interface ControllerDeps {
  config: CutoverConfig;
  store: SqliteStore;
  runtime: Runtime;
  router: Router;
  logger: Logger;
  now?: () => number;
  /** Builds metric providers for analysis runs (default: from config, reading this router's counters). */
  providerFor?: ProviderFor;
}

export interface DeployRequest {
  version: string;
  slot?: Slot | 'auto';
  autoSwitch?: boolean;
  autoCleanup?: boolean;
  skipHealth?: boolean;
  actor: string;
}

/** A blue-green run in progress (deploy, or rollback that restarts an old release). */
interface RunningOperation {
  operation: OperationRecord;
  service: ServiceConfig;
  state: BlueGreenState;
  abort: AbortController;
  /** Serialises events: a promote never overtakes a health result. */
  queue: Promise<void>;
  /** A rollback re-runs a release that exists already; on failure it goes back to `stopped`. */
  reusedRelease: boolean;
  /** Post-promotion analysis and its window timer, while `watching`. */
  analysis: AnalysisRunner | null;
  windowTimer: NodeJS.Timeout | null;
}

/**
 * Drives deploys: takes the lock, runs the blue-green state machine against
 * the runtime and the router, and persists every transition. All operations
 * return the operation record at once; `waitFor` resolves when it finished.
 */
export class Controller {
  readonly config: CutoverConfig;
  readonly store: SqliteStore;
  readonly router: Router;
  readonly supervisor: InstanceSupervisor;
  readonly events: EventLog;
  readonly canary: CanaryRunner;
  readonly rolling: RollingRunner;
  private readonly providerFor: ProviderFor;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly running = new Map<string, RunningOperation>();
  private readonly waiters = new Map<string, ((op: OperationRecord) => void)[]>();
  private readonly scaleDownTimers = new Map<string, NodeJS.Timeout>();
  private readonly drains = new Map<string, Promise<unknown>>();
  private closing = false;

  constructor(deps: ControllerDeps) {
    this.config = deps.config;
    this.store = deps.store;
    this.router = deps.router;
    this.logger = deps.logger;
    this.now = deps.now ?? Date.now;
    this.events = new EventLog(deps.store, deps.logger, this.now);
    this.supervisor = new InstanceSupervisor(deps.runtime, deps.router, deps.store, deps.logger);
    this.supervisor.on('upstreams', (releaseId) => this.refreshRouteOf(releaseId));
    this.providerFor = deps.providerFor ?? ((metric) => createProvider(metric.provider, { counters: () => deps.router.counters() }));
    this.canary = new CanaryRunner(this, this.providerFor, this.now);
    this.rolling = new RollingRunner(this, this.providerFor, this.now);
  }

  /** Restores routes and instances from the store; see recovery.ts. */
  async start(runtime: Runtime): Promise<void> {
    await recoverAfterRestart(this, runtime);
  }

  service(name: string): ServiceConfig {
    const service = this.config.services[name];
    if (!service) {
      throw new CutoverError('SERVICE_NOT_FOUND', `no service named '${name}' in ${this.config.file ?? 'the config'}`, {
        hint: `Configured services: ${Object.keys(this.config.services).join(', ') || 'none'}.`,
      });
    }
    return service;
  }

  activeRelease(name: string): ReleaseRecord | null {
    const id = this.store.getService(name).activeReleaseId;
    return id ? this.store.getRelease(id) : null;
  }

  status(name: string): ServiceStatus {
    return serviceStatus(this, this.service(name), this.running.get(name)?.state ?? this.rolling.running(name) ?? null, this.canary.running(name));
  }

  statusAll(): ServiceStatus[] {
    return Object.keys(this.config.services).map((name) => this.status(name));
  }

  history(name: string): { service: string; releases: ReleaseRecord[]; operations: OperationRecord[]; analysis: AnalysisMeasurement[] } {
    this.service(name);
    return {
      service: name,
      releases: this.store.listReleases(name),
      operations: this.store.listOperations(name, 100),
      analysis: this.store.eventsOfType(name, 'analysis.measurement').map(toMeasurement),
    };
  }

  /** Resolves when the operation has an outcome (at once if it has one already). */
  waitFor(operationId: string): Promise<OperationRecord> {
    const op = this.store.getOperation(operationId);
    if (!op) return Promise.reject(new CutoverError('OPERATION_NOT_FOUND', `no operation ${operationId}`));
    if (op.outcome) return Promise.resolve(op);
    return new Promise((resolve) => {
      const list = this.waiters.get(operationId) ?? [];
      list.push(resolve);
      this.waiters.set(operationId, list);
    });
  }

  // --- deploy -------------------------------------------------------------------

  async deploy(name: string, request: DeployRequest): Promise<OperationRecord> {
    const service = this.service(name);
    const active = this.activeRelease(name);
    const slot = request.slot === undefined || request.slot === 'auto' ? idleSlot(active) : request.slot;
    if (active && active.slot === slot) {
      throw new CutoverError('INVALID_STATE', `slot ${slot} serves the active release ${active.id}; a deploy goes to the idle slot`, {
        hint: `Use --slot auto (the idle slot is ${idleSlot(active)}).`,
      });
    }
    const git = await gitInfo(service.cwd);
    const now = this.now();
    const operationId = newOperationId(now);
    this.store.acquireLock(name, operationId, request.actor, now);
    try {
      const release = this.store.createRelease({
        service: name,
        version: request.version,
        slot,
        config: redactServiceConfig(service),
        configHash: configHash(service),
        gitCommit: git.commit,
        gitBranch: git.branch,
        createdBy: request.actor,
      }, now);
      if (service.strategy.type === 'canary') {
        const operation = this.store.createOperation({
          id: operationId, service: name, kind: 'deploy', releaseId: release.id, fromReleaseId: active?.id ?? null,
          actor: request.actor, phase: 'starting', state: null, startedAt: now,
        });
        this.events.record({
          operationId, service: name, releaseId: release.id, type: 'deploy.started',
          message: `canary of ${name} ${release.version} (${release.id}) in slot ${slot} started by ${request.actor}` + (active ? `; ${active.version} (${active.id}) is the stable release` : ''),
          data: { version: release.version, slot, from: active?.id ?? null, strategy: 'canary' },
        });
        this.canary.start(service, operation, release, active);
        return operation;
      }
      if ((service.strategy.type === 'rolling' || service.strategy.type === 'recreate') && active) {
        const operation = this.store.createOperation({
          id: operationId, service: name, kind: 'deploy', releaseId: release.id, fromReleaseId: active.id,
          actor: request.actor, phase: 'starting-batch', state: null, startedAt: now,
        });
        this.events.record({
          operationId, service: name, releaseId: release.id, type: 'deploy.started',
          message: `${service.strategy.type} update of ${name} ${active.version} (${active.id}) → ${release.version} (${release.id}) started by ${request.actor}` +
            (service.strategy.type === 'recreate' ? '; recreate stops every instance first: the service is down until the new ones are healthy' : ''),
          data: { version: release.version, from: active.id, strategy: service.strategy.type },
          level: service.strategy.type === 'recreate' ? 'warn' : 'info',
        });
        this.rolling.start(service, operation, release, active);
        return operation;
      }
      if (service.strategy.type === 'rolling' || service.strategy.type === 'recreate') {
        // Nothing runs yet: the first release starts all its instances and takes the traffic once healthy.
        const transition = startBlueGreen({
          releaseId: release.id, slot, previousReleaseId: null, autoSwitch: true, autoCleanup: false,
          skipHealth: request.skipHealth ?? false, smokeChecks: 0, deployTimeoutMs: service.strategy.deployTimeoutMs,
        }, now);
        return this.launch(service, 'deploy', request.actor, operationId, release, active, transition, false);
      }
      const strategy = blueGreenOf(service);
      const transition = startBlueGreen({
        releaseId: release.id,
        slot,
        previousReleaseId: active?.id ?? null,
        autoSwitch: request.autoSwitch ?? strategy.autoSwitch,
        autoCleanup: request.autoCleanup ?? strategy.autoCleanup,
        skipHealth: request.skipHealth ?? false,
        smokeChecks: strategy.smoke.length,
        deployTimeoutMs: strategy.deployTimeoutMs,
        postPromotion: strategy.postPromotion,
        prePromotion: strategy.prePromotion,
      }, now);
      return this.launch(service, 'deploy', request.actor, operationId, release, active, transition, false);
    } catch (error) {
      this.store.releaseLock(name, operationId);
      throw error;
    }
  }

  /** Creates the operation record and starts the state machine in the background. */
  private launch(
    service: ServiceConfig, kind: OperationKind, actor: string, operationId: string, release: ReleaseRecord,
    active: ReleaseRecord | null, transition: { state: BlueGreenState; commands: BlueGreenCommand[] }, reusedRelease: boolean,
  ): OperationRecord {
    const operation = this.store.createOperation({
      id: operationId, service: service.name, kind, releaseId: release.id, fromReleaseId: active?.id ?? null,
      actor, phase: transition.state.phase, state: transition.state, startedAt: this.now(),
    });
    const run: RunningOperation = {
      operation, service, state: transition.state, abort: new AbortController(), queue: Promise.resolve(), reusedRelease,
      analysis: null, windowTimer: null,
    };
    this.running.set(service.name, run);
    const verb = kind === 'rollback' ? 'rollback' : 'deploy';
    this.events.record({
      operationId, service: service.name, releaseId: release.id, type: `${verb}.started`,
      message: `${verb} of ${service.name} ${release.version} (${release.id}) to slot ${release.slot} started by ${actor}` +
        (active ? `; ${active.version} (${active.id}) keeps serving` : ''),
      data: { version: release.version, slot: release.slot, from: active?.id ?? null },
    });
    if (transition.state.skipHealth) {
      this.events.record({
        operationId, service: service.name, releaseId: release.id, type: 'health.skipped', level: 'warn',
        message: 'health checks skipped (--skip-health): the new release gets traffic without being verified',
      });
    }
    run.queue = this.runCommands(run, transition.commands).catch((error: unknown) => this.crashed(run, error));
    return operation;
  }

  /** Feeds an event from outside (promote, abort) in order with the machine's own. */
  private dispatch(run: RunningOperation, event: BlueGreenEvent): Promise<void> {
    run.queue = run.queue.then(() => this.apply(run, event)).catch((error: unknown) => this.crashed(run, error));
    return run.queue;
  }

  private async apply(run: RunningOperation, event: BlueGreenEvent): Promise<void> {
    const transition = blueGreenTransition(run.state, event);
    if (transition.state !== run.state) {
      run.state = transition.state;
      this.store.updateOperation(run.operation.id, { phase: run.state.phase, state: run.state });
      if (run.state.phase === 'ready') this.store.updateRelease(run.state.releaseId, { state: 'ready' });
    }
    await this.runCommands(run, transition.commands);
  }

  private async runCommands(run: RunningOperation, commands: BlueGreenCommand[]): Promise<void> {
    for (const command of commands) {
      const event = await this.execute(run, command);
      if (event) await this.apply(run, event);
    }
  }

  private async execute(run: RunningOperation, command: BlueGreenCommand): Promise<BlueGreenEvent | null> {
    const { service, state, operation } = run;
    const base = { operationId: operation.id, service: service.name, releaseId: state.releaseId };
    const release = this.store.getRelease(state.releaseId)!;
    switch (command.type) {
      case 'start-instances': {
        await this.freeSlot(service, state.slot, operation.id);
        try {
          const instances = await this.supervisor.startRelease({ service, releaseId: release.id, version: release.version, slot: state.slot });
          for (const info of instances) {
            this.events.record({ ...base, type: 'instance.started', message: `instance ${info.id} started (pid ${info.pid}, port ${info.port})`, data: { id: info.id, pid: info.pid, port: info.port } });
          }
          return { type: 'instances-started' };
        } catch (error) {
          const e = error instanceof CutoverError ? error : new CutoverError('INSTANCE_START_FAILED', String(error));
          return { type: 'start-failed', code: e.code, message: e.message };
        }
      }
      case 'await-health': {
        this.events.record({ ...base, type: 'health.waiting', message: `waiting for ${service.instances} instance(s) to pass health checks (timeout ${Math.round((command.deadline - this.now()) / 1000)} s)` });
        const onHealth = (releaseId: string, instanceId: string, status: string, last: { detail: string }): void => {
          if (releaseId === release.id) this.events.record({ ...base, type: `instance.${status}`, message: `instance ${instanceId} is ${status} (${last.detail})` });
        };
        this.supervisor.on('health', onHealth);
        try {
          await this.supervisor.waitHealthy(release.id, command.deadline, run.abort.signal);
          this.events.record({ ...base, type: 'release.healthy', message: `all ${service.instances} instance(s) of ${release.id} are healthy` });
          return { type: 'all-healthy' };
        } catch (error) {
          if (run.abort.signal.aborted) return { type: 'abort', reason: String((run.abort.signal.reason as Error)?.message ?? 'aborted') };
          const e = error as CutoverError;
          return e.code === 'HEALTH_TIMEOUT' ? { type: 'deadline-passed', message: e.message } : { type: 'instance-exited', message: e.message };
        } finally {
          this.supervisor.off('health', onHealth);
        }
      }
      case 'run-smoke': {
        const instances = this.supervisor.instancesOf(release.id).map((i) => i.info);
        const smoke = blueGreenOf(service).smoke;
        const failure = await runSmokeChecks(instances, smoke);
        if (failure) return { type: 'smoke-failed', message: failure };
        this.events.record({ ...base, type: 'smoke.passed', message: `${smoke.length} smoke check(s) passed on every instance` });
        return { type: 'smoke-passed' };
      }
      case 'switch-traffic':
        this.switchTraffic(service, release, operation.id);
        return { type: 'switched' };
      case 'retire-previous':
        if (state.previousReleaseId) this.retire(service, state.previousReleaseId, command.immediately, operation.id);
        return null;
      case 'stop-new-release':
        await this.supervisor.stopRelease(release.id);
        return null;
      case 'announce':
        this.events.record({ ...base, type: command.event, message: command.message });
        return null;
      case 'analyse': {
        this.events.record({ ...base, type: 'analysis.started', message: `judging ${release.id} for ${Math.round(command.windowMs / 1000)} s before the switch (${command.templates.join(', ')})` });
        let failedEarly: ((message: string) => void) | null = null;
        const analysis = new AnalysisRunner(this.config.analysis, this.providerFor, this.events, base, (verdict) => {
          if (verdict.phase === 'Failed') failedEarly?.(verdict.message);
        }, this.now);
        analysis.start('step', command.templates, {
          service: service.name, canaryReleaseId: release.id, stableReleaseId: state.previousReleaseId, windowStart: this.now(),
        });
        // The window, cut short by a failed verdict or an abort.
        const early = await new Promise<string | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), command.windowMs);
          failedEarly = (message) => { clearTimeout(timer); resolve(message); };
          run.abort.signal.addEventListener('abort', () => { clearTimeout(timer); resolve('aborted'); }, { once: true });
        });
        if (run.abort.signal.aborted) {
          analysis.stop('all');
          return { type: 'abort', reason: String((run.abort.signal.reason as Error)?.message ?? 'aborted') };
        }
        if (early !== null) {
          analysis.stop('all');
          return { type: 'pre-analysis-concluded', phase: 'Failed', message: early };
        }
        const phase = analysis.conclude('step');
        analysis.stop('all');
        return { type: 'pre-analysis-concluded', phase: phase === 'Running' ? 'Successful' : phase, message: `analysis ${phase.toLowerCase()}` };
      }
      case 'watch': {
        const analysis = new AnalysisRunner(this.config.analysis, this.providerFor, this.events, base, (verdict) => {
          if (verdict.phase === 'Failed') void this.dispatch(run, { type: 'analysis-failed', message: verdict.message });
          else this.events.record({ ...base, type: 'analysis.inconclusive', level: 'warn', message: `${verdict.message}; the release stays` });
        }, this.now);
        run.analysis = analysis;
        analysis.start('post-promotion', command.templates, {
          service: service.name, canaryReleaseId: release.id, stableReleaseId: state.previousReleaseId, windowStart: this.now(),
          latencySamples: this.router.latencySamples ? (s, r) => this.router.latencySamples!(s, r) : undefined,
        });
        run.windowTimer = setTimeout(() => { void this.dispatch(run, { type: 'window-elapsed' }); }, command.windowMs);
        run.windowTimer.unref();
        this.events.record({ ...base, type: 'deploy.watching', message: `watching ${release.id} for ${Math.round(command.windowMs / 1000)} s after the switch (${command.templates.join(', ')}); a failure switches back` });
        return null;
      }
      case 'stop-analysis':
        run.analysis?.stop('all');
        if (run.windowTimer) clearTimeout(run.windowTimer);
        run.windowTimer = null;
        return null;
      case 'switch-back': {
        const previous = state.previousReleaseId ? this.store.getRelease(state.previousReleaseId) : null;
        if (!previous || !this.supervisor.isRunning(previous.id)) {
          this.events.record({ ...base, type: 'deploy.switch-back-impossible', level: 'error', message: 'the previous release no longer runs; run `cutover rollback` to start it again' });
          return null;
        }
        this.switchTraffic(service, previous, operation.id);
        await this.scaleDown(service, release.id, operation.id);
        this.events.record({ ...base, type: 'deploy.rolled-back', level: 'error', message: `switched back to ${previous.version} (${previous.id})` });
        return null;
      }
      case 'finish':
        this.finish(run, command.outcome, command.error);
        return null;
    }
  }

  private finish(run: RunningOperation, outcome: 'succeeded' | 'failed' | 'aborted', error: { code: string; message: string } | null): void {
    const { service, state, operation } = run;
    const now = this.now();
    if (outcome !== 'succeeded') {
      this.store.updateRelease(state.releaseId, {
        state: run.reusedRelease ? 'stopped' : outcome,
        error: error ? { ...error } : null,
      });
    }
    const active = this.activeRelease(service.name);
    const verb = operation.kind === 'rollback' ? 'rollback' : 'deploy';
    const message = outcome === 'succeeded'
      ? `${verb} succeeded: ${active?.version} (${active?.id}) serves ${service.name} from slot ${active?.slot}`
      : `${verb} ${outcome}: ${error?.message ?? ''}; traffic stays on ${active ? `${active.version} (${active.id})` : 'nothing (no release was active)'}`;
    this.events.record({ operationId: operation.id, service: service.name, releaseId: state.releaseId, type: `${verb}.${outcome}`, message, level: outcome === 'succeeded' ? 'info' : 'error' });
    this.completeOperation(operation.id, service.name, outcome, error, now);
    this.running.delete(service.name);
    this.prune(service);
  }

  completeOperation(operationId: string, service: string, outcome: 'succeeded' | 'failed' | 'aborted', error: { code: string; message: string; hint?: string } | null, now: number): void {
    this.store.finishOperation(operationId, outcome, error, now);
    this.store.releaseLock(service, operationId);
    const done = this.store.getOperation(operationId)!;
    for (const resolve of this.waiters.get(operationId) ?? []) resolve(done);
    this.waiters.delete(operationId);
  }

  /** A bug inside the machine must not leave the lock held forever. */
  private crashed(run: RunningOperation, error: unknown): void {
    if (this.closing) return;
    this.logger.error({ err: error, operation: run.operation.id }, 'operation crashed');
    if (this.running.get(run.service.name) === run && isBeforeSwitch(run.state.phase)) {
      const failure = { code: 'INTERNAL', message: `operation failed unexpectedly: ${(error as Error)?.message ?? String(error)}` };
      void this.supervisor.stopRelease(run.state.releaseId).finally(() => this.finish(run, 'failed', failure));
    }
  }

  // --- promote / abort / switch / rollback / cleanup ---------------------------

  async promote(name: string, actor: string, full = false): Promise<OperationRecord> {
    this.service(name);
    if (this.canary.running(name)) {
      this.events.record({ operationId: this.store.getLock(name)?.operationId ?? null, service: name, releaseId: this.canary.running(name)!.releaseId, type: 'deploy.promoted', message: `promoted${full ? ' to 100%' : ' to the next step'} by ${actor}` });
      return this.canary.command(name, { type: 'promote', full });
    }
    const run = this.running.get(name);
    if (!run || run.state.phase !== 'ready') {
      throw new CutoverError('INVALID_STATE', run
        ? `the ${run.operation.kind} of ${name} is ${run.state.phase}, not waiting for promote`
        : `no deploy of ${name} is waiting for promote`);
    }
    this.events.record({ operationId: run.operation.id, service: name, releaseId: run.state.releaseId, type: 'deploy.promoted', message: `promoted by ${actor}` });
    await this.dispatch(run, { type: 'promote' });
    return this.store.getOperation(run.operation.id)!;
  }

  /** Deploys again the version whose last deploy was aborted or failed (Argo's `retry`), from the first step. */
  async retry(name: string, actor: string): Promise<OperationRecord> {
    this.service(name);
    const last = this.store.listOperations(name, 20).find((op) => op.kind === 'deploy');
    if (!last || (last.outcome !== 'aborted' && last.outcome !== 'failed') || !last.releaseId) {
      throw new CutoverError('INVALID_STATE', last?.outcome === null
        ? `the last deploy of ${name} is still running`
        : `the last deploy of ${name} did not fail or abort; nothing to retry`, { hint: `Deploy a version with \`cutover deploy ${name} --version <v>\`.` });
    }
    const release = this.store.getRelease(last.releaseId);
    if (!release) throw new CutoverError('RELEASE_NOT_FOUND', `release ${last.releaseId} of ${name} is gone`);
    return this.deploy(name, { version: release.version, actor });
  }

  /** Canary only: hold the current weight until resume. */
  async pause(name: string, actor: string): Promise<OperationRecord> {
    this.service(name);
    if (!this.canary.running(name)) throw new CutoverError('INVALID_STATE', `no canary of ${name} is running; pause applies to canary rollouts`);
    this.events.record({ operationId: this.store.getLock(name)?.operationId ?? null, service: name, releaseId: this.canary.running(name)!.releaseId, type: 'deploy.pause-requested', message: `pause requested by ${actor}` });
    return this.canary.command(name, { type: 'pause' });
  }

  async resume(name: string, actor: string): Promise<OperationRecord> {
    this.service(name);
    if (this.rolling.running(name)) {
      this.events.record({ operationId: this.store.getLock(name)?.operationId ?? null, service: name, releaseId: this.rolling.running(name)!.releaseId, type: 'deploy.resume-requested', message: `resume requested by ${actor}` });
      return this.rolling.command(name, { type: 'resume' });
    }
    if (!this.canary.running(name)) throw new CutoverError('INVALID_STATE', `no canary of ${name} is running; resume applies to canary rollouts`);
    this.events.record({ operationId: this.store.getLock(name)?.operationId ?? null, service: name, releaseId: this.canary.running(name)!.releaseId, type: 'deploy.resume-requested', message: `resume requested by ${actor}` });
    return this.canary.command(name, { type: 'resume' });
  }

  async abort(name: string, actor: string): Promise<OperationRecord> {
    this.service(name);
    if (this.canary.running(name)) return this.canary.command(name, { type: 'abort', reason: `aborted by ${actor}` });
    if (this.rolling.running(name)) return this.rolling.command(name, { type: 'abort', reason: `aborted by ${actor}` });
    const run = this.running.get(name);
    if (!run || !isBeforeSwitch(run.state.phase)) {
      throw new CutoverError('INVALID_STATE', `no deploy of ${name} can be aborted (traffic moves only once; use rollback after a switch)`);
    }
    const reason = `aborted by ${actor}`;
    run.abort.abort(new CutoverError('DEPLOY_ABORTED', reason));
    await this.dispatch(run, { type: 'abort', reason });
    return this.store.getOperation(run.operation.id)!;
  }

  /** `switch <service> <slot>`: promotes a ready deploy in that slot, or moves traffic back to the standby release there. */
  async switchTo(name: string, slot: Slot, actor: string): Promise<OperationRecord> {
    const service = this.service(name);
    const run = this.running.get(name);
    if (run && run.state.phase === 'ready' && run.state.slot === slot) return this.promote(name, actor);
    const active = this.activeRelease(name);
    if (active && active.slot === slot) throw new CutoverError('INVALID_STATE', `slot ${slot} is already active (${active.version}, ${active.id})`);
    const standby = this.store.listReleases(name).find((r) => r.slot === slot && r.state === 'standby' && this.supervisor.isRunning(r.id));
    if (!standby) {
      throw new CutoverError('INVALID_STATE', `nothing is running in slot ${slot} of ${name}`, {
        hint: `Deploy to it first (\`cutover deploy ${name} --version <v>\`) or roll back with \`cutover rollback ${name}\`.`,
      });
    }
    return this.instantSwitch(service, 'switch', standby, actor);
  }

  async rollback(name: string, options: { to?: string; actor: string }): Promise<OperationRecord> {
    const service = this.service(name);
    const active = this.activeRelease(name);
    const releases = this.store.listReleases(name);
    let target: ReleaseRecord | null;
    if (options.to) {
      target = findRelease(releases, options.to);
      if (!target) throw new CutoverError('RELEASE_NOT_FOUND', `no release '${options.to}' of ${name}`);
    } else {
      target = previousRelease(releases, active?.id ?? null);
      if (!target) throw new CutoverError('NOTHING_TO_ROLL_BACK', `${name} has no earlier release to roll back to`);
    }
    if (active && target.id === active.id) throw new CutoverError('INVALID_STATE', `${target.id} (${target.version}) is already active`);
    if (target.state === 'pruned') throw new CutoverError('RELEASE_NOT_FOUND', `${target.id} is past the rollback limit (${service.rollbackLimit}) and was pruned`);
    if (target.activatedAt === null || target.state === 'failed' || target.state === 'aborted') {
      throw new CutoverError('INVALID_STATE', `${target.id} (${target.version}) never served traffic (${target.state}); roll back to a release that did`);
    }
    if (target.state === 'standby' && this.supervisor.isRunning(target.id)) {
      return this.instantSwitch(service, 'rollback', target, options.actor);
    }
    // The old slot is gone: start the release again in the idle slot and switch once healthy.
    const now = this.now();
    const operationId = newOperationId(now);
    this.store.acquireLock(name, operationId, options.actor, now);
    try {
      const slot = idleSlot(active);
      this.store.updateRelease(target.id, { state: 'starting', slot, error: null });
      const transition = startBlueGreen({
        releaseId: target.id, slot, previousReleaseId: active?.id ?? null, autoSwitch: true, autoCleanup: false,
        skipHealth: false, smokeChecks: service.strategy.type === 'blue-green' ? service.strategy.smoke.length : 0,
        deployTimeoutMs: service.strategy.deployTimeoutMs,
      }, now);
      return this.launch(service, 'rollback', options.actor, operationId, { ...target, slot }, active, transition, true);
    } catch (error) {
      this.store.releaseLock(name, operationId);
      throw error;
    }
  }

  /** Stops standby releases now instead of at the end of scale_down_delay. */
  async cleanup(name: string, actor: string): Promise<OperationRecord> {
    const service = this.service(name);
    const now = this.now();
    const operationId = newOperationId(now);
    this.store.acquireLock(name, operationId, actor, now);
    const active = this.activeRelease(name);
    const operation = this.store.createOperation({
      id: operationId, service: name, kind: 'cleanup', releaseId: active?.id ?? null, fromReleaseId: null, actor,
      phase: 'stopping', state: null, startedAt: now,
    });
    try {
      const standby = this.store.listReleases(name).filter((r) => r.state === 'standby');
      for (const release of standby) await this.scaleDown(service, release.id, operationId);
      this.events.record({ operationId, service: name, releaseId: null, type: 'cleanup.succeeded', message: standby.length ? `stopped ${standby.map((r) => r.id).join(', ')}` : 'no standby release was running' });
      this.completeOperation(operationId, name, 'succeeded', null, this.now());
    } catch (error) {
      this.completeOperation(operationId, name, 'failed', { code: 'INTERNAL', message: String(error) }, this.now());
      throw error;
    }
    return this.store.getOperation(operation.id)!;
  }

  /** Moves traffic to a release that is running and healthy already (switch back, or rollback within the window). */
  private instantSwitch(service: ServiceConfig, kind: OperationKind, target: ReleaseRecord, actor: string): OperationRecord {
    const now = this.now();
    const operationId = newOperationId(now);
    this.store.acquireLock(service.name, operationId, actor, now);
    const active = this.activeRelease(service.name);
    try {
      const healthy = this.supervisor.instancesOf(target.id).filter((i) => i.status === 'healthy').length;
      if (healthy === 0) {
        throw new CutoverError('INVALID_STATE', `no instance of ${target.id} in slot ${target.slot} is healthy; traffic was not moved`);
      }
      this.store.createOperation({
        id: operationId, service: service.name, kind, releaseId: target.id, fromReleaseId: active?.id ?? null, actor,
        phase: 'switching', state: null, startedAt: now,
      });
      this.switchTraffic(service, target, operationId);
      if (active) this.retire(service, active.id, false, operationId);
      this.events.record({ operationId, service: service.name, releaseId: target.id, type: `${kind}.succeeded`, message: `${kind} succeeded: ${target.version} (${target.id}) serves ${service.name} from slot ${target.slot}` });
      this.completeOperation(operationId, service.name, 'succeeded', null, this.now());
      return this.store.getOperation(operationId)!;
    } catch (error) {
      if (this.store.getOperation(operationId)) {
        const e = error as CutoverError;
        this.completeOperation(operationId, service.name, 'failed', { code: e.code ?? 'INTERNAL', message: e.message }, this.now());
      } else {
        this.store.releaseLock(service.name, operationId);
      }
      throw error;
    }
  }

  // --- traffic and release lifecycle -------------------------------------------

  routeFor(service: ServiceConfig, release: ReleaseRecord | null): ServiceRoute {
    return {
      service: service.name,
      hosts: service.hosts,
      default: service.default,
      target: release
        ? { releaseId: release.id, version: release.version, slot: release.slot, upstreams: this.supervisor.upstreamsOf(release.id) }
        : null,
    };
  }

  /** The atomic switch: persist first, then one setRoute call; requests in flight on the old release drain. */
  switchTraffic(service: ServiceConfig, to: ReleaseRecord, operationId: string): void {
    const from = this.activeRelease(service.name);
    const now = this.now();
    this.cancelScaleDown(to.id);
    this.store.transaction(() => {
      this.store.setActiveRelease(service.name, to.id, now);
      this.store.updateRelease(to.id, { state: 'active', activatedAt: now, scaleDownAt: null, slot: to.slot });
      if (from && from.id !== to.id) this.store.updateRelease(from.id, { state: 'standby' });
    });
    this.supervisor.setSupervised(to.id, true);
    this.router.setRoute(this.routeFor(service, { ...to, slot: to.slot }));
    this.supervisor.syncRouterHealth(to.id);
    this.events.record({
      operationId, service: service.name, releaseId: to.id, type: 'traffic.switched',
      message: `traffic switched: ${from ? `${from.version} (${from.id}, ${from.slot})` : 'nothing'} → ${to.version} (${to.id}, ${to.slot})`,
      data: { from: from?.id ?? null, to: to.id, at: now },
    });
    if (from && from.id !== to.id) {
      const drain = this.router.drain(service.name, from.id, service.drainTimeoutMs).then((result) => {
        this.events.record({
          operationId: null, service: service.name, releaseId: from.id, type: 'release.drained',
          message: result.drained ? `${from.id} drained: no request in flight` : `${from.id} drain timeout (${service.drainTimeoutMs} ms): closed ${result.closed} connection(s)`,
          data: result,
        });
      }, (error: unknown) => this.logger.warn({ err: error, release: from.id }, 'drain failed'));
      this.drains.set(from.id, drain);
    }
  }

  /** Keeps the previous release running for scale_down_delay (or stops it now) so rollback stays instant. */
  retire(service: ServiceConfig, releaseId: string, immediately: boolean, operationId: string | null): void {
    const release = this.store.getRelease(releaseId);
    if (!release || release.state !== 'standby') return;
    if (!this.supervisor.isRunning(releaseId)) {
      this.store.updateRelease(releaseId, { state: 'stopped', scaleDownAt: null });
      return;
    }
    const delay = immediately || !('scaleDownDelayMs' in service.strategy) ? 0 : service.strategy.scaleDownDelayMs;
    const at = this.now() + delay;
    this.store.updateRelease(releaseId, { scaleDownAt: at });
    this.events.record({
      operationId, service: service.name, releaseId, type: 'release.standby',
      message: immediately ? `${releaseId} stops once drained (auto cleanup)` : `${releaseId} stays in slot ${release.slot} for instant rollback until ${new Date(at).toISOString()}`,
    });
    this.scheduleScaleDown(service, releaseId, at);
  }

  scheduleScaleDown(service: ServiceConfig, releaseId: string, at: number): void {
    this.cancelScaleDown(releaseId);
    const timer = setTimeout(() => {
      this.scaleDownTimers.delete(releaseId);
      this.scaleDown(service, releaseId, null).catch((error: unknown) => this.logger.warn({ err: error, release: releaseId }, 'scale down failed'));
    }, Math.max(0, at - this.now()));
    timer.unref();
    this.scaleDownTimers.set(releaseId, timer);
  }

  private cancelScaleDown(releaseId: string): void {
    const timer = this.scaleDownTimers.get(releaseId);
    if (timer) clearTimeout(timer);
    this.scaleDownTimers.delete(releaseId);
  }

  /** Stops a standby release once its drain finished. A release that became active again is left alone. */
  async scaleDown(service: ServiceConfig, releaseId: string, operationId: string | null): Promise<void> {
    this.cancelScaleDown(releaseId);
    await this.drains.get(releaseId);
    const release = this.store.getRelease(releaseId);
    if (!release || release.state !== 'standby') return;
    await this.supervisor.stopRelease(releaseId);
    this.drains.delete(releaseId);
    this.store.updateRelease(releaseId, { state: 'stopped', scaleDownAt: null });
    this.events.record({ operationId, service: service.name, releaseId, type: 'release.stopped', message: `${releaseId} (${release.version}) stopped in slot ${release.slot}; rollback to it restarts it` });
    this.prune(service);
  }

  /** A deploy into a slot still held by a standby release replaces that release. */
  async freeSlot(service: ServiceConfig, slot: Slot, operationId: string): Promise<void> {
    const occupant = this.store.listReleases(service.name).find((r) => r.slot === slot && r.state === 'standby');
    if (!occupant) return;
    this.events.record({ operationId, service: service.name, releaseId: occupant.id, type: 'release.replaced', message: `stopping standby ${occupant.id} (${occupant.version}) to free slot ${slot}` });
    await this.scaleDown(service, occupant.id, operationId);
  }

  prune(service: ServiceConfig): void {
    for (const release of releasesToPrune(this.store.listReleases(service.name), service.rollbackLimit)) {
      this.store.updateRelease(release.id, { state: 'pruned' });
      this.events.record({ operationId: null, service: service.name, releaseId: release.id, type: 'release.pruned', message: `${release.id} (${release.version}) is past the rollback limit of ${service.rollbackLimit}` });
    }
  }

  /** A restarted instance has a new port: the active release's route must list it. */
  private refreshRouteOf(releaseId: string): void {
    if (this.canary.refresh(releaseId) || this.rolling.refresh(releaseId)) return;
    const release = this.store.getRelease(releaseId);
    if (!release || release.state !== 'active') return;
    const service = this.config.services[release.service];
    if (!service) return;
    this.router.setRoute(this.routeFor(service, release));
    this.supervisor.syncRouterHealth(releaseId);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.canary.close();
    await this.rolling.close();
    for (const timer of this.scaleDownTimers.values()) clearTimeout(timer);
    this.scaleDownTimers.clear();
    const queues = [...this.running.values()].map((run) => {
      run.abort.abort(new CutoverError('DEPLOY_ABORTED', 'the server is shutting down'));
      return this.dispatch(run, { type: 'abort', reason: 'the server is shutting down' });
    });
    // An operation that ends now records its outcome; one that hangs is aborted by recovery at the next start.
    await Promise.race([Promise.all(queues), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    await this.supervisor.close();
  }

  /** For recovery.ts */
  runningOperation(name: string): RunningOperation | undefined {
    return this.running.get(name);
  }
}

/** The blue-green options of a service; the canary runner handles the other strategy. */
function blueGreenOf(service: ServiceConfig): BlueGreenStrategyConfig {
  if (service.strategy.type !== 'blue-green') {
    throw new CutoverError('INVALID_STATE', `service ${service.name} uses the ${service.strategy.type} strategy, not blue-green`);
  }
  return service.strategy;
}
