import type { CutoverConfig, ServiceConfig } from '../config/types.js';
import { countersOf, createProvider } from '../analysis/provider-factory.js';
import { syntheticLoadStarter } from '../analysis/synthetic-load.js';
import { systemClock } from '../clock/system-clock.js';
import { envFileSecretsOf } from '../config/env-files.js';
import { SecretRedactor, secretValuesOf } from '../config/secret-redactor.js';
import type { Clock } from '../core/clock.js';
import type { Slot } from '../core/slot.js';
import type { ServiceMigrations } from '../migrate/service-migrations.js';
import type { Router, TlsRoute } from '../router/index.js';
import type { Runtime } from '../runtime/index.js';
import type { OperationRecord, ReleaseRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ProviderFor } from './analysis-runner.js';
import { BlueGreenRunner } from './blue-green-runner.js';
import { CanaryRunner } from './canary-runner.js';
import { startDeploy } from './deploy-intake.js';
import { DeployWaveRunner } from './deploy-wave-runner.js';
import { EventLog } from './event-log.js';
import { gitInfo as realGitInfo, type GitInfo } from './git-info.js';
import { InstanceSupervisor, restartEvent } from './instance-supervisor.js';
import { recoverAfterRestart } from './recovery.js';
import { ReleaseCommands, type ContractOverride } from './release-commands.js';
import { ReleaseLifecycle } from './release-lifecycle.js';
import { RollingRunner } from './rolling-runner.js';
import type { RunnerContext } from './runner-context.js';
import { serviceNamed } from './service-lookup.js';
import { stopService } from './service-stop.js';
import { serviceHistory, serviceStatus, type ServiceHistory, type ServiceStatus } from './service-status.js';
import { StrategyRegistry } from './strategy-registry.js';
import type { DeployRequest, RunProgress } from './strategy-runner.js';
import { explainLock } from './lock-holder.js';
import { CutoverError } from '../core/errors.js';
import { NativeRollingRunner } from './native-rolling-runner.js';
import { MaintenanceRoutes } from './maintenance-routes.js';
import { switchMaintenance, type MaintenanceRequest } from './maintenance-commands.js';
import type { MaintenanceRecord } from '../store/records.js';

export type { DeployRequest } from './strategy-runner.js';
import type { ControllerDeps } from './controller-deps.js';
export type { ControllerDeps } from './controller-deps.js';

/**
 * The thin front of deploys: validates a command, takes the lock and creates
 * the release, then hands the service to its strategy's runner, chosen once
 * by the registry. What the strategies share (switch, standby, scale-down,
 * pruning, outcomes) is the release lifecycle's; rollback, switch and cleanup
 * are release-commands.ts. All operations return the operation record at
 * once; `waitFor` resolves when it finished.
 */
export class Controller {
  /** Replaced by `reconfigure` (cutover reload); everything reads it at the time it acts. */
  private currentConfig: CutoverConfig;
  readonly store: Store;
  readonly router: Router;
  readonly clock: Clock;
  readonly redactor: SecretRedactor;
  readonly events: EventLog;
  readonly supervisor: InstanceSupervisor;
  readonly lifecycle: ReleaseLifecycle;
  readonly providerFor: ProviderFor;
  readonly waves: DeployWaveRunner;
  private readonly context: RunnerContext;
  private readonly blueGreen: BlueGreenRunner;
  private readonly canary: CanaryRunner;
  private readonly rolling: RollingRunner;
  private readonly strategies: StrategyRegistry;
  private readonly commands: ReleaseCommands;
  private readonly gitInfo: (cwd: string) => Promise<GitInfo>;
  private readonly maintenanceRoutes: MaintenanceRoutes;
  /** Each HTTPS service's certificate, carried by its every route. */
  private certificates: ReadonlyMap<string, TlsRoute>;
  /** The services' databases (migrations with deploys, backups), once attached. */
  migrations: ServiceMigrations | null = null;

  constructor(deps: ControllerDeps) {
    const { config, store, logger } = deps;
    // Every route given to the router carries the service's maintenance from the store (maintenance-routes.ts).
    this.certificates = deps.certificates ?? new Map();
    this.maintenanceRoutes = new MaintenanceRoutes(
      store,
      deps.router,
      (service) => this.certificates.get(service) ?? null,
    );
    const router = this.maintenanceRoutes.wrap();
    this.currentConfig = config;
    this.store = store;
    this.router = router;
    this.clock = deps.clock ?? systemClock;
    this.gitInfo = deps.gitInfo ?? realGitInfo;
    this.redactor = deps.redactor ?? new SecretRedactor(secretValuesOf(config));
    this.redactor.learn(envFileSecretsOf(Object.values(config.services)));
    this.events = new EventLog(store, logger, () => this.clock.now(), this.redactor);
    this.supervisor = new InstanceSupervisor(deps.runtime, router, store, logger, {
      clock: this.clock,
      probe: deps.probe,
    });
    this.lifecycle = new ReleaseLifecycle({
      store,
      router,
      supervisor: this.supervisor,
      events: this.events,
      logger,
      clock: this.clock,
      migrations: () => this.migrations,
      removeReleaseLogs: deps.removeReleaseLogs ?? null,
    });
    this.providerFor = deps.providerFor ?? ((metric) => createProvider(metric.provider, countersOf(router)));
    // A getter: runners read the config when they act, so a reload reaches them.
    const configNow = (): CutoverConfig => this.currentConfig;
    this.context = {
      get config() {
        return configNow();
      },
      store,
      router,
      logger,
      clock: this.clock,
      supervisor: this.supervisor,
      events: this.events,
      lifecycle: this.lifecycle,
      providerFor: this.providerFor,
      syntheticLoad: syntheticLoadStarter({
        router,
        healthyUpstreams: (releaseId) =>
          this.supervisor
            .instancesOf(releaseId)
            .filter((instance) => instance.status === 'healthy')
            .map(({ info }) => ({ id: info.id, host: info.host, port: info.port })),
        clock: this.clock,
      }),
      service: (name) => this.service(name),
      migrations: () => this.migrations,
    };
    this.supervisor.on('upstreams', (releaseId) => this.refreshRouteOf(releaseId));
    this.supervisor.on('restarting', (releaseId, restart) => this.events.record(restartEvent(releaseId, restart)));
    this.blueGreen = new BlueGreenRunner(this.context);
    this.canary = new CanaryRunner(this.context);
    this.rolling = new RollingRunner(this.context);
    const nativeRolling = new NativeRollingRunner(this.context, deps.runtime);
    this.strategies = new StrategyRegistry({
      blueGreen: this.blueGreen,
      canary: this.canary,
      rolling: this.rolling,
      nativeRolling,
    });
    this.commands = new ReleaseCommands(this.context, this.blueGreen, {
      promote: (name, actor) => this.promote(name, actor),
      deploy: (name, request) => this.deploy(name, request),
    });
    this.waves = new DeployWaveRunner(this.context, (name, request) => this.deploy(name, request));
  }

  get config(): CutoverConfig {
    return this.currentConfig;
  }

  /**
   * Takes a reloaded config (its live part, see config-changes.ts): new
   * services can deploy at once, and every later operation reads the new
   * settings. Operations already running keep the service config they started with.
   */
  reconfigure(next: CutoverConfig): void {
    this.redactor.learn([...secretValuesOf(next), ...envFileSecretsOf(Object.values(next.services))]);
    this.currentConfig = next;
  }

  /** Attached after recovery, whose routes come first. */
  attachMigrations(migrations: ServiceMigrations): void {
    this.migrations = migrations;
  }

  /** Adopts what runs and resumes interrupted operations; `fillMissing: false` starts no missing instance. */
  async start(runtime: Runtime, options: { fillMissing?: boolean } = {}): Promise<void> {
    const { restartAborted } = await recoverAfterRestart(
      this.context,
      runtime,
      {
        watch: (service, operation, state, switchedAt) =>
          this.blueGreen.resumeAfterRestart(service, operation, state, switchedAt),
        canary: (service, operation, state) => this.canary.resumeAfterRestart(service, operation, state),
      },
      options,
    );
    // After the services' own operations are resumed or closed: a wave waits on them.
    this.waves.resume(restartAborted);
  }

  service(name: string): ServiceConfig {
    return serviceNamed(this.config, name);
  }

  activeRelease(name: string): ReleaseRecord | null {
    return this.lifecycle.activeRelease(name);
  }

  status(name: string): ServiceStatus {
    const service = this.service(name);
    return serviceStatus(
      this.context,
      service,
      this.strategies.inFlight(service).progress(name),
      this.canary.running(name),
    );
  }

  statusAll(): ServiceStatus[] {
    return Object.keys(this.config.services).map((name) => this.status(name));
  }

  history(name: string): ServiceHistory {
    return serviceHistory(this.store, this.service(name).name);
  }

  /** Resolves when the operation has an outcome (at once if it has one already). */
  waitFor(operationId: string): Promise<OperationRecord> {
    return this.lifecycle.waitFor(operationId);
  }

  deploy(name: string, request: DeployRequest): Promise<OperationRecord> {
    return this.explainingLock(() =>
      startDeploy(
        { context: this.context, strategies: this.strategies, redactor: this.redactor, gitInfo: this.gitInfo },
        name,
        request,
      ),
    );
  }

  async promote(name: string, actor: string, full = false): Promise<OperationRecord> {
    return this.strategies.inFlight(this.service(name)).promote(name, actor, full);
  }

  /** Gives the approval a gate waits for (a canary step with `approval`, or a blue-green switch with `approval`). */
  async approve(name: string, actor: string): Promise<OperationRecord> {
    return this.strategies.inFlight(this.service(name)).approve(name, actor);
  }

  async pause(name: string, actor: string): Promise<OperationRecord> {
    return this.strategies.inFlight(this.service(name)).pause(name, actor);
  }

  async resume(name: string, actor: string): Promise<OperationRecord> {
    return this.strategies.inFlight(this.service(name)).resume(name, actor);
  }

  /** Before the switch: stops the deploy. In a post-promotion window: rolls back to the previous release. */
  async abort(name: string, actor: string): Promise<OperationRecord> {
    return this.strategies.inFlight(this.service(name)).abort(name, actor);
  }

  /** Ends a post-promotion window now, keeping the new release (`cutover finish`). */
  async finish(name: string, actor: string): Promise<OperationRecord> {
    return this.strategies.inFlight(this.service(name)).finishWindow(name, actor);
  }

  /** Deploys again the version whose last deploy was aborted or failed (Argo's `retry`), from the first step. */
  retry(name: string, actor: string): Promise<OperationRecord> {
    return this.explainingLock(() => this.commands.retry(name, actor));
  }

  switchTo(name: string, slot: Slot, actor: string, override: ContractOverride = {}): Promise<OperationRecord> {
    return this.explainingLock(() => this.commands.switchTo(name, slot, actor, override));
  }

  rollback(name: string, options: { to?: string; actor: string } & ContractOverride): Promise<OperationRecord> {
    return this.explainingLock(() => this.commands.rollback(name, options));
  }

  cleanup(name: string, actor: string): Promise<OperationRecord> {
    return this.explainingLock(() => this.commands.cleanup(name, actor));
  }

  /** `cutover down <service>`: routes it to nothing, drains, stops every release of it; see service-stop.ts. */
  down(name: string, actor: string): Promise<OperationRecord> {
    return this.explainingLock(async () => stopService(this.context, name, actor));
  }

  /**
   * New certificates (a reload, after the team's files were renewed): each
   * service whose pair or HSTS changed gets its current route again with the
   * new one, at once and without a deploy: new handshakes get it, open
   * connections keep theirs. Answers the services it swapped.
   */
  async replaceCertificates(next: ReadonlyMap<string, TlsRoute>): Promise<string[]> {
    const before = this.certificates;
    this.certificates = next;
    const swapped = [...new Set([...before.keys(), ...next.keys()])].filter(
      (service) => !sameTls(before.get(service), next.get(service)),
    );
    for (const service of swapped) {
      // A service with nothing routed yet gets its certificate with its first route.
      if (this.maintenanceRoutes.appliedRoute(service) === undefined) continue;
      await this.maintenanceRoutes.reapply(service, () => {
        throw new CutoverError('INTERNAL', `no route of '${service}' to re-send`);
      });
      this.events.record({
        operationId: null,
        service,
        releaseId: null,
        type: 'certificate.swapped',
        message: next.has(service)
          ? 'certificate swapped: new HTTPS handshakes get the new one, open connections keep theirs'
          : 'no longer served over HTTPS',
      });
    }
    return swapped;
  }

  /** `cutover maintenance on|off`: no lock, so it works during a deploy (whose next routes carry it too). */
  maintenance(
    name: string,
    request: MaintenanceRequest,
  ): Promise<{ maintenance: MaintenanceRecord | null; changed: boolean }> {
    return switchMaintenance(this.context, this.maintenanceRoutes, this.service(name), request);
  }

  /** The store's DEPLOY_LOCKED names only the holder; the refusal a person reads says what it does and the choices (lock-holder.ts). */
  private async explainingLock(work: () => Promise<OperationRecord>): Promise<OperationRecord> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof CutoverError) || error.code !== 'DEPLOY_LOCKED') throw error;
      throw explainLock(this.store, (service) => this.progressOf(service), error);
    }
  }

  private progressOf(name: string): RunProgress | null {
    const service = this.config.services[name];
    return service ? this.strategies.inFlight(service).progress(name) : null;
  }

  /** A restarted instance has a new port: the route that lists its release must list it. */
  private refreshRouteOf(releaseId: string): void {
    if (this.strategies.all().some((runner) => runner.refresh(releaseId))) return;
    const release = this.store.getRelease(releaseId);
    if (!release || release.state !== 'active') return;
    const service = this.config.services[release.service];
    if (service) this.lifecycle.refreshActiveRoute(service, release);
  }

  /** The full stop (`cutover down`, tests): the runs end, then every instance stops. */
  async close(): Promise<void> {
    await this.endRuns();
    await this.supervisor.close();
  }

  /** SIGTERM, an upgrade: the runs end (recovery takes them up at the next start); the instances serve on. */
  async detach(): Promise<void> {
    await this.endRuns();
    this.supervisor.detach();
  }

  private async endRuns(): Promise<void> {
    for (const runs of [this.waves, this.canary, this.rolling]) await runs.close();
    this.lifecycle.close();
    await this.blueGreen.close();
  }
}

function sameTls(a: TlsRoute | undefined, b: TlsRoute | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}
