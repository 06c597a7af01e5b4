import type { Logger } from 'pino';
import type { CutoverConfig, ServiceConfig } from '../config/types.js';
import { createProvider } from '../analysis/provider-factory.js';
import { configHash } from '../config/config-hash.js';
import { redactServiceConfig } from '../config/redact.js';
import { SecretRedactor, secretValuesOf } from '../config/secret-redactor.js';
import { startBlueGreen } from '../core/blue-green-strategy.js';
import { CutoverError } from '../core/errors.js';
import { findRelease, idleSlot, previousRelease } from '../core/release-selection.js';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../clock/system-clock.js';
import { assertValidVersion } from '../core/version-grammar.js';
import type { Slot } from '../core/slot.js';
import type { Router, ServiceRoute } from '../router/index.js';
import type { Runtime } from '../runtime/index.js';
import type { OperationKind, OperationRecord, ReleaseRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ServiceMigrations } from '../migrate/service-migrations.js';
import { prepareDatabase } from './database-hooks.js';
import { ReleaseLifecycle } from './release-lifecycle.js';
import { EventLog } from './event-log.js';
import { gitInfo } from './git-info.js';
import { InstanceSupervisor } from './instance-supervisor.js';
import { newOperationId } from './operation-ids.js';
import { toMeasurement, type AnalysisMeasurement } from './analysis-measurement.js';
import type { ProviderFor } from './analysis-runner.js';
import { blueGreenOf, BlueGreenRunner } from './blue-green-runner.js';
import { CanaryRunner } from './canary-runner.js';
import { RollingRunner } from './rolling-runner.js';
import { SwarmRollingRunner } from './swarm-rolling-runner.js';
import { recoverAfterRestart } from './recovery.js';
import { DeployWaveRunner } from './deploy-wave-runner.js';
import { serviceStatus, type ServiceStatus } from './service-status.js';

export interface ControllerDeps {
  config: CutoverConfig;
  store: Store;
  runtime: Runtime;
  router: Router;
  logger: Logger;
  /** Every timer, sleep and "now" of the controller (default: the system clock). */
  clock?: Clock;
  /** Builds metric providers for analysis runs (default: from config, reading this router's counters). */
  providerFor?: ProviderFor;
  /** Takes secret values out of release snapshots and events (default: the secrets of `config`). */
  redactor?: SecretRedactor;
  /** Deletes a pruned release's instance logs (the runtime's files; absent in tests without any). */
  removeReleaseLogs?: (service: string, releaseId: string) => void;
}

export interface DeployRequest {
  version: string;
  slot?: Slot | 'auto';
  autoSwitch?: boolean;
  autoCleanup?: boolean;
  skipHealth?: boolean;
  actor: string;
}

/**
 * Drives deploys: takes the lock, creates the release, hands it to the
 * strategy's runner (blue-green, canary, rolling), and owns what they share:
 * the atomic switch, standby releases and their scale-down, pruning, the
 * operations' outcomes. All operations return the operation record at once;
 * `waitFor` resolves when it finished.
 */
export class Controller {
  readonly config: CutoverConfig;
  readonly store: Store;
  readonly router: Router;
  readonly supervisor: InstanceSupervisor;
  readonly events: EventLog;
  readonly canary: CanaryRunner;
  readonly rolling: RollingRunner;
  readonly swarmRolling: SwarmRollingRunner;
  readonly providerFor: ProviderFor;
  readonly blueGreen: BlueGreenRunner;
  readonly waves: DeployWaveRunner;
  private databases: ServiceMigrations | null = null;
  readonly logger: Logger;
  readonly redactor: SecretRedactor;
  readonly clock: Clock;
  private readonly now: () => number;
  readonly lifecycle: ReleaseLifecycle;

  constructor(deps: ControllerDeps) {
    this.config = deps.config;
    this.store = deps.store;
    this.router = deps.router;
    this.logger = deps.logger;
    this.clock = deps.clock ?? systemClock;
    this.now = () => this.clock.now();
    this.redactor = deps.redactor ?? new SecretRedactor(secretValuesOf(deps.config));
    this.events = new EventLog(deps.store, deps.logger, this.now, this.redactor);
    this.supervisor = new InstanceSupervisor(deps.runtime, deps.router, deps.store, deps.logger);
    this.lifecycle = new ReleaseLifecycle({
      store: deps.store, router: deps.router, supervisor: this.supervisor, events: this.events, logger: deps.logger, clock: this.clock,
      migrations: () => this.databases, removeReleaseLogs: deps.removeReleaseLogs ?? null,
    });
    this.supervisor.on('upstreams', (releaseId) => this.refreshRouteOf(releaseId));
    this.supervisor.on('restarting', (releaseId, restart) => this.events.record({
      operationId: null,
      service: restart.instance.service,
      releaseId,
      type: restart.reason === 'unhealthy' ? 'instance.unhealthy-restart' : 'instance.crash-restart',
      message: `instance ${restart.instance.id} ${restart.detail}; restart ${restart.restarts} in ${restart.delayMs} ms`,
      data: { instance: restart.instance.id, reason: restart.reason, detail: restart.detail, restarts: restart.restarts, delayMs: restart.delayMs },
      level: 'warn',
    }));
    this.providerFor = deps.providerFor ?? ((metric) => createProvider(metric.provider, { counters: () => deps.router.counters() }));
    this.canary = new CanaryRunner(this, this.providerFor, this.now);
    this.blueGreen = new BlueGreenRunner(this, this.now);
    this.rolling = new RollingRunner(this, this.providerFor, this.now);
    this.swarmRolling = new SwarmRollingRunner(this, deps.runtime);
    this.waves = new DeployWaveRunner(this, this.now);
  }

  /** The services' databases (migrations with deploys, backups); attached after recovery, whose routes come first. */
  get migrations(): ServiceMigrations | null {
    return this.databases;
  }

  attachMigrations(migrations: ServiceMigrations): void {
    this.databases = migrations;
  }

  /** Restores routes and instances from the store; see recovery.ts. */
  async start(runtime: Runtime): Promise<void> {
    const { restartAborted } = await recoverAfterRestart(this, runtime);
    // After the services' own operations are resumed or closed: a wave waits on them.
    this.waves.resume(restartAborted);
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
    return this.lifecycle.activeRelease(name);
  }

  status(name: string): ServiceStatus {
    return serviceStatus(this, this.service(name), this.blueGreen.running(name)?.state ?? this.rolling.running(name) ?? null, this.canary.running(name));
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
    return this.lifecycle.waitFor(operationId);
  }

  // --- deploy -------------------------------------------------------------------

  async deploy(name: string, request: DeployRequest): Promise<OperationRecord> {
    // Every entry point (API, retry, deploy --all) comes through here: the version fills ${VERSION} in commands, image tags and paths.
    assertValidVersion(request.version);
    const service = this.service(name);
    const active = this.activeRelease(name);
    const slot = request.slot === undefined || request.slot === 'auto' ? idleSlot(active) : request.slot;
    if (active && active.slot === slot) {
      throw new CutoverError('INVALID_STATE', `slot ${slot} serves the active release ${active.id}; a deploy goes to the idle slot`, {
        hint: `Use --slot auto (the idle slot is ${idleSlot(active)}).`,
      });
    }
    if (service.strategy.type === 'blue-green' && service.strategy.approval && request.autoSwitch) {
      throw new CutoverError('BAD_REQUEST', `${name}'s switch needs an approval: --auto-switch cannot skip it`, { hint: `Deploy without --auto-switch, then \`cutover approve ${name}\`.` });
    }
    const git = await gitInfo(service.cwd);
    const now = this.now();
    const operationId = newOperationId(now);
    this.store.acquireLock(name, operationId, request.actor, now);
    try {
      // Under the deploy lock, before any instance starts: an unsafe or failing migration stops the deploy here.
      const database = await prepareDatabase(this, this.migrations, service, request.version, { operationId, actor: request.actor });
      const release = this.store.createRelease({
        service: name,
        version: request.version,
        slot,
        config: this.redactor.redactValue(redactServiceConfig(service)),
        configHash: configHash(service),
        gitCommit: git.commit,
        gitBranch: git.branch,
        createdBy: request.actor,
      }, now);
      if (database) this.migrations?.recordKnown(release.id, database.known);
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
        // Swarm updates its service itself (UpdateConfig from the strategy); cutover follows its tasks.
        if (service.strategy.type === 'rolling' && this.swarmRolling.offers(service)) this.swarmRolling.start(service, operation, release, active);
        else this.rolling.start(service, operation, release, active);
        return operation;
      }
      if (service.strategy.type === 'rolling' || service.strategy.type === 'recreate') {
        // Nothing runs yet: the first release starts all its instances and takes the traffic once healthy.
        const transition = startBlueGreen({
          releaseId: release.id, slot, previousReleaseId: null, autoSwitch: true, autoCleanup: false,
          skipHealth: request.skipHealth ?? false, smokeChecks: 0, deployTimeoutMs: service.strategy.deployTimeoutMs,
        }, now);
        return this.blueGreen.launch(service, 'deploy', request.actor, operationId, release, active, transition, false);
      }
      const strategy = blueGreenOf(service);
      const transition = startBlueGreen({
        releaseId: release.id,
        slot,
        previousReleaseId: active?.id ?? null,
        autoSwitch: strategy.approval ? false : request.autoSwitch ?? strategy.autoSwitch,
        autoCleanup: request.autoCleanup ?? strategy.autoCleanup,
        skipHealth: request.skipHealth ?? false,
        smokeChecks: strategy.smoke.length,
        deployTimeoutMs: strategy.deployTimeoutMs,
        postPromotion: strategy.postPromotion,
        prePromotion: strategy.prePromotion,
        approval: strategy.approval,
      }, now);
      return this.blueGreen.launch(service, 'deploy', request.actor, operationId, release, active, transition, false);
    } catch (error) {
      this.store.releaseLock(name, operationId);
      throw error;
    }
  }

  completeOperation(operationId: string, service: string, outcome: 'succeeded' | 'failed' | 'aborted', error: { code: string; message: string; hint?: string } | null, now: number): void {
    this.lifecycle.completeOperation(operationId, service, outcome, error, now);
  }

  // --- promote / abort / switch / rollback / cleanup ---------------------------

  async promote(name: string, actor: string, full = false): Promise<OperationRecord> {
    const service = this.service(name);
    if (this.canary.running(name)?.pausedBy === 'approval' || (service.strategy.type === 'blue-green' && service.strategy.approval && this.blueGreen.running(name)?.state.phase === 'ready')) {
      throw new CutoverError('INVALID_STATE', `${name} waits for an approval, which promote does not give`, { hint: `Run \`cutover approve ${name}\` (it is recorded with who approved), or abort.` });
    }
    if (this.canary.running(name)) {
      this.events.record({ operationId: this.store.getLock(name)?.operationId ?? null, service: name, releaseId: this.canary.running(name)!.releaseId, type: 'deploy.promoted', message: `promoted${full ? ' to 100%' : ' to the next step'} by ${actor}` });
      return this.canary.command(name, { type: 'promote', full });
    }
    return this.blueGreen.promote(name, actor);
  }

  /** Gives the approval a gate waits for (a canary step with `approval`, or a blue-green switch with `approval`). */
  async approve(name: string, actor: string): Promise<OperationRecord> {
    const service = this.service(name);
    const canary = this.canary.running(name);
    if (canary) {
      if (canary.pausedBy !== 'approval') throw new CutoverError('INVALID_STATE', `the canary of ${name} is ${canary.phase}${canary.pausedBy ? ` (paused: ${canary.pausedBy})` : ''}, not waiting for an approval`);
      return this.canary.command(name, { type: 'approve', actor });
    }
    const run = this.blueGreen.running(name);
    if (service.strategy.type === 'blue-green' && service.strategy.approval && run?.state.phase === 'ready') {
      this.events.record({ operationId: run.operation.id, service: name, releaseId: run.state.releaseId, type: 'deploy.approved', message: `switch approved by ${actor}` });
      return this.blueGreen.promote(name, actor);
    }
    throw new CutoverError('INVALID_STATE', `nothing of ${name} waits for an approval`, { hint: `Run \`cutover status ${name}\`; approval gates are set with approval: true on a blue-green strategy or a canary step.` });
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
    if (this.swarmRolling.running(name)) return this.swarmRolling.abort(name, `aborted by ${actor}`);
    return this.blueGreen.abort(name, actor);
  }

  /** `switch <service> <slot>`: promotes a ready deploy in that slot, or moves traffic back to the standby release there. */
  async switchTo(name: string, slot: Slot, actor: string): Promise<OperationRecord> {
    const service = this.service(name);
    const run = this.blueGreen.running(name);
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
    // The post-promotion window holds the deploy lock; a person who rolls back in it ends the watch first.
    await this.blueGreen.endWatch(name, `rolled back by ${options.actor} during the post-promotion window`);
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
      return this.blueGreen.launch(service, 'rollback', options.actor, operationId, { ...target, slot }, active, transition, true);
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
  private async instantSwitch(service: ServiceConfig, kind: OperationKind, target: ReleaseRecord, actor: string): Promise<OperationRecord> {
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
      await this.switchTraffic(service, target, operationId);
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
    return this.lifecycle.routeFor(service, release);
  }

  switchTraffic(service: ServiceConfig, to: ReleaseRecord, operationId: string): Promise<void> {
    return this.lifecycle.switchTraffic(service, to, operationId);
  }

  retire(service: ServiceConfig, releaseId: string, immediately: boolean, operationId: string | null): void {
    this.lifecycle.retire(service, releaseId, immediately, operationId);
  }

  scheduleScaleDown(service: ServiceConfig, releaseId: string, at: number): void {
    this.lifecycle.scheduleScaleDown(service, releaseId, at);
  }

  scaleDown(service: ServiceConfig, releaseId: string, operationId: string | null): Promise<void> {
    return this.lifecycle.scaleDown(service, releaseId, operationId);
  }

  freeSlot(service: ServiceConfig, slot: Slot, operationId: string): Promise<void> {
    return this.lifecycle.freeSlot(service, slot, operationId);
  }

  prune(service: ServiceConfig): void {
    this.lifecycle.prune(service);
  }

  /** A restarted instance has a new port: the active release's route must list it. */
  private refreshRouteOf(releaseId: string): void {
    if (this.canary.refresh(releaseId) || this.rolling.refresh(releaseId)) return;
    const release = this.store.getRelease(releaseId);
    if (!release || release.state !== 'active') return;
    const service = this.config.services[release.service];
    if (!service) return;
    this.lifecycle.refreshActiveRoute(service, release);
  }

  async close(): Promise<void> {
    await this.waves.close();
    await this.canary.close();
    await this.rolling.close();
    this.lifecycle.close();
    await this.blueGreen.close();
    await this.supervisor.close();
  }

}
