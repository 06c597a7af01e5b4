import type { ServiceConfig } from '../../config/types.js';
import { CutoverError } from '../../core/errors.js';
import type { InstanceInfo, InstanceSpec, NativeRollingUpdates, NativeUpdateTarget, Runtime } from '../index.js';
import { ManagedInstances } from '../managed-instances.js';
import { logSince, type LogCopy } from '../docker/container-logs.js';
import { instanceLogPath } from '../process/log-files.js';
import { findFreePort } from '../process/free-port.js';
import { instanceIdOf, type RuntimeLogger } from '../process/process-runtime.js';
import { adoptIn, type AdoptionContext } from './kubernetes-adoption.js';
import { apiMessage, apiStatus, type KubernetesClient } from './kubernetes-client.js';
import {
  CONTAINER_NAME,
  isReleaseSet,
  planDeployment,
  readinessProbeOf,
  seconds,
} from './kubernetes-deployment-spec.js';
import { managesUid, newSet, type KnownDeployment, type ManagedPod, type Target } from './kubernetes-instance-state.js';
import { KubernetesObjects } from './kubernetes-objects.js';
import { waitForPod, type PodStartContext } from './kubernetes-pod-start.js';
import { PodWatch } from './kubernetes-pod-watch.js';
import type { PodView } from './kubernetes-pods.js';
import { copyPodLogs } from './pod-logs.js';
import { KubernetesNativeUpdates } from './kubernetes-native-updates.js';
import type { RolloutSettings } from './kubernetes-rollout.js';
import { ReleaseSetUpdates, type SetStatus } from './kubernetes-set-updates.js';

export interface KubernetesRuntimeOptions {
  /** Identifies this state directory (label cutover.owner), as with runtime: docker and swarm. */
  owner: string;
  /** A service's config: its docker image keys, its kubernetes settings, its health. */
  serviceFor(service: string): ServiceConfig | undefined;
  /** The client of a service's kubeconfig and context (one per pair, shared). */
  clientFor(service: ServiceConfig): KubernetesClient;
  logDir: string;
  logger?: RuntimeLogger;
  defaultStopGracePeriodMs?: number;
  /** How often the pods are looked at for exits (default 500 ms). */
  pollMs?: number;
}

const REASON_REFRESH_MS = 2_000;
/** Ports are checked free on every address of this machine (cutover's own node in a single-node test). */
const PORT_PROBE_HOST = '0.0.0.0';

/**
 * Instances as Kubernetes pods, each the single replica of a Deployment of
 * its own, or with a pod network and rolling, one pod of its release's set
 * (see kubernetes-deployment-spec.ts for why and when),
 * labelled cutover.owner/service/release/slot/instance/version and found
 * again by those labels after a controller restart. The kubelet restarts a
 * crashed container in place (restartPolicy Always): cutover reports the exit
 * and a start of the same instance waits for the pod's next run. cutover's
 * router dials the pod (its IP, and its own port with host networking).
 * pid is null; pidToken is the Deployment's UID, which a record must match
 * to be adopted.
 */
export class KubernetesRuntime extends ManagedInstances<ManagedPod> implements Runtime {
  readonly kind = 'kubernetes';
  private readonly options: KubernetesRuntimeOptions;
  private readonly deployments = new Map<string, KnownDeployment>();
  /** Release sets by the release their template runs; the promise is shared by the starts that create it. */
  private readonly sets = new Map<string, Promise<KnownDeployment>>();
  /** Host-network ports given to instances not yet gone: a free port may not be bound yet by the pod it went to. */
  private readonly portsInUse = new Set<number>();
  private readonly objects: KubernetesObjects;
  private readonly setUpdates: ReleaseSetUpdates;
  private readonly podStart: PodStartContext;
  private readonly podWatch: PodWatch;
  private readonly adoption: AdoptionContext;
  private nativeUpdates: KubernetesNativeUpdates | null = null;

  constructor(options: KubernetesRuntimeOptions) {
    super(options.logger);
    this.options = options;
    this.objects = new KubernetesObjects(options.owner, options.logger);
    this.setUpdates = new ReleaseSetUpdates({
      owner: options.owner,
      ...(options.logger ? { logger: options.logger } : {}),
      serviceFor: (service) => options.serviceFor(service),
      objects: this.objects,
      runningSet: (releaseId) => this.runningSet(releaseId),
    });
    this.podStart = {
      objects: this.objects,
      abandoned: (id, known) => this.closed || this.deployments.get(id) !== known || Boolean(known.set?.removing),
      tailLog: (id, lines) => this.tailLog(id, lines),
    };
    const watch = {
      objects: this.objects,
      ...(options.logger ? { logger: options.logger } : {}),
      instances: this.instances,
      ended: (managed: ManagedPod, code: number | null) => this.handleExit(managed, code),
    };
    this.podWatch = new PodWatch(watch, options.pollMs ?? 500);
    this.adoption = {
      owner: options.owner,
      ...(options.logger ? { logger: options.logger } : {}),
      state: { deployments: this.deployments, sets: this.sets, instances: this.instances },
      objects: this.objects,
      setUpdates: this.setUpdates,
      takeBack: (record, known, pod) => this.takeBack(record, known, pod),
    };
  }

  async start(spec: InstanceSpec): Promise<InstanceInfo> {
    const id = instanceIdOf(spec);
    if (this.closed)
      throw new CutoverError('INSTANCE_START_FAILED', `Cannot start ${id}: the kubernetes runtime is shutting down.`);
    const running = this.instances.get(id);
    if (running) {
      throw new CutoverError(
        'INSTANCE_START_FAILED',
        `Cannot start ${id}: it is already running (pod ${running.podName}).`,
        {
          hint: 'Stop the running instance first.',
        },
      );
    }
    const config = this.options.serviceFor(spec.service);
    if (!config?.docker || !config.kubernetes)
      throw new CutoverError('INTERNAL', `Cannot start ${id}: service ${spec.service} has no kubernetes settings.`);
    const target = this.targetOf(config);
    const set = isReleaseSet(config.kubernetes, config.strategy.type);
    const known =
      this.deployments.get(id) ??
      (set ? await this.setOf(spec, config, target) : await this.create(spec, config, target, id));
    this.deployments.set(id, known);
    let pod: PodView;
    try {
      pod = await waitForPod(this.podStart, known, id);
    } catch (error) {
      await this.giveUp(known, id).catch(() => {});
      throw error;
    }
    const info: InstanceInfo = {
      id,
      service: spec.service,
      releaseId: spec.releaseId,
      version: spec.version,
      slot: spec.slot,
      index: spec.index,
      host: config.kubernetes.address ?? pod.ip ?? '127.0.0.1',
      port: known.port,
      pid: null,
      pidToken: known.uid,
      logPath: instanceLogPath(this.options.logDir, spec),
      startedAt: Date.now(),
      ...(pod.node ? { node: pod.node } : {}),
    };
    const header = `--- cutover ${new Date().toISOString()}: starting ${id} (version ${spec.version}) as pod ${pod.name}${pod.node ? ` on node ${pod.node}` : ''} at ${info.host}:${info.port}`;
    this.manage(info, known, pod, await this.followLogs(info, known, pod, header, null));
    this.options.logger?.info(
      { instance: id, deployment: known.name, pod: pod.name, node: pod.node, host: info.host, port: info.port },
      'instance started',
    );
    return { ...info };
  }

  /** A crashed instance nobody restarted: its Deployment still runs (the kubelet restarts its pod) and goes now. */
  protected override stopUnmanaged(instanceId: string, gracePeriodMs: number | undefined): Promise<void> {
    const known = this.deployments.get(instanceId);
    return known ? this.removeDeployment(known, gracePeriodMs ?? this.gracePeriodOf()) : Promise.resolve();
  }

  protected gracePeriodOf(): number {
    return this.options.defaultStopGracePeriodMs ?? 10_000;
  }
  /**
   * After a controller restart: the Deployments of this state directory
   * (label cutover.owner) in the namespaces of the config's kubernetes
   * services, adopted as kubernetes-adoption.ts says.
   */
  async adopt(records: InstanceInfo[]): Promise<InstanceInfo[]> {
    const adopted: InstanceInfo[] = [];
    for (const target of this.targetsOf(records)) adopted.push(...(await adoptIn(this.adoption, target, records)));
    return adopted;
  }

  /** A recorded instance managed again on its pod; its log copy goes on from the file's last change. */
  private async takeBack(record: InstanceInfo, known: KnownDeployment, pod: PodView): Promise<InstanceInfo> {
    const address = this.options.serviceFor(record.service)?.kubernetes?.address ?? null;
    const info: InstanceInfo = {
      ...record,
      pid: null,
      host: address ?? pod.ip ?? record.host,
      pidToken: known.uid,
      ...(pod.node ? { node: pod.node } : {}),
    };
    const since = logSince(info.logPath);
    const logs = await this.followLogs(info, known, pod, null, since === 0 ? null : Date.now() / 1000 - since);
    this.manage(info, known, pod, logs);
    this.options.logger?.info(
      { instance: record.id, pod: pod.name, host: info.host, port: info.port },
      'instance adopted',
    );
    return { ...info };
  }

  /** The pod's log through the API: the run that ended for a crashed instance, else the current one. */
  async tailLog(instanceId: string, lines: number): Promise<string> {
    const known = this.deployments.get(instanceId);
    const managed = this.instances.get(instanceId);
    // A set's pods are its instances': the one bound to this instance, not the Deployment's last one looked at.
    const podName = known?.set ? (managed?.podName ?? known.set.lastPod.get(instanceId) ?? null) : known?.podName;
    if (!known || !podName) return '';
    const read = (previous: boolean): Promise<string> =>
      known.target.client.core
        .readNamespacedPodLog({
          name: podName,
          namespace: known.target.namespace,
          container: CONTAINER_NAME,
          tailLines: Math.max(1, Math.min(lines, 10_000)),
          limitBytes: 1024 * 1024,
          previous,
        })
        .then(
          (text) => String(text ?? '').trimEnd(),
          () => '',
        );
    if (managed && !managed.exited) return read(false);
    return (await read(true)) || read(false);
  }

  override async close(): Promise<void> {
    await super.close();
    await Promise.all([...this.deployments.values()].map((known) => this.removeDeployment(known, 0).catch(() => {})));
    this.podWatch.stop();
  }

  override async detach(): Promise<void> {
    this.podWatch.stop();
    await super.detach();
    this.deployments.clear();
    this.sets.clear();
  }

  protected letGo(managed: ManagedPod): void {
    managed.exited = true;
    managed.logs?.stop();
  }

  /**
   * The kubelet's readiness verdict (the probe mapped from `health`): the
   * health gate needs it on top of cutover's own check. Not ready before it
   * ever was is `starting` (the reason, if the kubelet gave one, is in
   * healthReason); not ready after it was is `unhealthy`. Null without a probe.
   */
  async containerHealth(instanceId: string): Promise<'starting' | 'healthy' | 'unhealthy' | null> {
    const managed = this.instances.get(instanceId);
    if (!managed || !managed.probed) return null;
    if (managed.ready) return 'healthy';
    await this.refreshReason(managed);
    return managed.everReady ? 'unhealthy' : 'starting';
  }

  /**
   * Why the kubelet does not call the pod ready, in its words (its last
   * readiness-probe failure event). Answers at once from what was read last
   * and reads again in the background when that is older than 2 s.
   */
  healthReason(instanceId: string): string | null {
    const managed = this.instances.get(instanceId);
    if (!managed || managed.ready || !managed.probed) return null;
    void this.refreshReason(managed);
    // Short: the health failure message keeps 160 characters per instance, and the kubelet's words matter most.
    return managed.notReadyReason ? `kubelet: ${managed.notReadyReason}` : `pod ${managed.podName} is not Ready`;
  }

  private async refreshReason(managed: ManagedPod): Promise<void> {
    if (Date.now() - managed.reasonReadAt <= REASON_REFRESH_MS) return;
    managed.reasonReadAt = Date.now();
    managed.notReadyReason = await this.objects.podWarning(managed.deployment.target, managed.podUid);
  }

  // --- native rolling update of a release set (see kubernetes-native-updates.ts) ---

  /** A release set's service (pod network, strategy rolling) updates through Kubernetes' RollingUpdate. */
  nativeRollingUpdates(service: string): NativeRollingUpdates | null {
    const config = this.options.serviceFor(service);
    if (!config?.kubernetes || !isReleaseSet(config.kubernetes, config.strategy.type)) return null;
    this.nativeUpdates ??= new KubernetesNativeUpdates(this);
    return this.nativeUpdates;
  }

  instancesOf(service: string): number {
    return this.options.serviceFor(service)?.instances ?? 1;
  }

  private async runningSet(releaseId: string): Promise<KnownDeployment | null> {
    const known = await this.sets.get(releaseId)?.catch(() => null);
    return known?.set && !known.set.removing ? known : null;
  }

  /**
   * Starts Kubernetes' RollingUpdate of the set running `fromReleaseId`: the
   * template of release `to` (same name, selector and replicas) with the
   * rollout's settings. The Deployment's revision before it is kept for a
   * rollback. Its pods' ends meanwhile are the rollout's, not crashes.
  /** Starts Kubernetes' RollingUpdate of the set running `fromReleaseId` (kubernetes-set-updates.ts). */
  updateSet(fromReleaseId: string, to: NativeUpdateTarget, rollout: RolloutSettings): Promise<{ name: string }> {
    return this.setUpdates.update(fromReleaseId, to, rollout);
  }

  setStatus(releaseId: string): Promise<SetStatus | null> {
    return this.setUpdates.status(releaseId);
  }

  /** `kubectl rollout undo` of the set running `releaseId`. */
  rollbackSet(releaseId: string): Promise<void> {
    return this.setUpdates.rollback(releaseId);
  }

  /**
   * Ends a native update. `completed`: the set runs `toReleaseId` (start()
   * of its instances binds its pods); the old release's instances are
   * forgotten, their pods are gone. `rolled-back`: the old release's
   * instances are bound to the set's running pods, each keeping its own when
   * it still runs; one without a pod is reported as exited.
   */
  async finishSetUpdate(
    fromReleaseId: string,
    outcome: 'completed' | 'rolled-back',
    toReleaseId: string,
  ): Promise<void> {
    const known = await this.runningSet(fromReleaseId);
    if (!known) return;
    const set = known.set!;
    set.updating = null;
    const old = [...this.instances.values()].filter((m) => m.deployment === known);
    if (outcome === 'completed') {
      for (const managed of old) {
        managed.logs?.stop();
        managed.exited = true;
        this.instances.delete(managed.info.id);
      }
      for (const [id, k] of [...this.deployments]) if (k === known) this.deployments.delete(id);
      set.bound.clear();
      set.dead.clear();
      this.sets.delete(fromReleaseId);
      set.releaseId = toReleaseId;
      this.sets.set(toReleaseId, Promise.resolve(known));
      return;
    }
    const pods = (await this.objects.podsOf(known).catch(() => [] as PodView[]))
      .filter((pod) => pod.running && !pod.deleting && pod.ip)
      .sort((a, b) => a.name.localeCompare(b.name));
    const kept = new Set(old.filter((m) => !m.exited && pods.some((p) => p.uid === m.podUid)).map((m) => m.podUid));
    set.bound = new Map(old.filter((m) => kept.has(m.podUid)).map((m) => [m.podUid, m.info.id]));
    const free = pods.filter((pod) => !kept.has(pod.uid));
    for (const managed of old) {
      if (kept.has(managed.podUid)) continue;
      managed.logs?.stop();
      managed.exited = true;
      this.instances.delete(managed.info.id);
      const pod = free.shift();
      if (!pod) {
        this.deployments.delete(managed.info.id);
        this.exits.notify({ instance: { ...managed.info }, code: null, signal: null, expected: false });
        continue;
      }
      set.bound.set(pod.uid, managed.info.id);
      set.lastPod.set(managed.info.id, pod.name);
      const address = this.options.serviceFor(managed.info.service)?.kubernetes?.address ?? null;
      const info: InstanceInfo = {
        ...managed.info,
        host: address ?? pod.ip ?? managed.info.host,
        ...(pod.node ? { node: pod.node } : {}),
      };
      const header = `--- cutover ${new Date().toISOString()}: Kubernetes rolled back; ${info.id} is pod ${pod.name} at ${info.host}:${info.port}`;
      this.manage(info, known, pod, await this.followLogs(info, known, pod, header, null));
    }
  }

  /** With a liveness probe (health.restart_after) the kubelet restarts an unhealthy container itself. */
  replacesUnhealthyInstances(instanceId: string): boolean {
    const managed = this.instances.get(instanceId);
    const config = managed ? this.options.serviceFor(managed.info.service) : undefined;
    return (config?.health.restartAfter ?? 0) > 0 && config?.health.check.type !== 'command';
  }

  // --- internals --------------------------------------------------------------

  private readonly clientTargets = new Map<string, Target>();

  private targetOf(config: ServiceConfig): Target {
    const client = this.options.clientFor(config);
    const namespace = config.kubernetes?.namespace ?? 'default';
    const key = `${client.source}\u0000${namespace}`;
    let target = this.clientTargets.get(key);
    if (!target) this.clientTargets.set(key, (target = { client, namespace }));
    return target;
  }

  /** The namespaces (with their clients) the records' services and the managed Deployments live in. */
  private targetsOf(records: InstanceInfo[]): Target[] {
    const targets = new Set<Target>();
    for (const service of new Set(records.map((r) => r.service))) {
      const config = this.options.serviceFor(service);
      if (config?.kubernetes) targets.add(this.targetOf(config));
    }
    for (const known of this.deployments.values()) targets.add(known.target);
    return [...targets];
  }

  /** The release's set: created by its first instance's start, shared by the others started with it. */
  private setOf(spec: InstanceSpec, config: ServiceConfig, target: Target): Promise<KnownDeployment> {
    let pending = this.sets.get(spec.releaseId);
    if (!pending) {
      const created = this.create(spec, config, target, `${spec.service}/${spec.releaseId}/${spec.slot}`, true);
      this.sets.set(spec.releaseId, (pending = created));
      created.catch(() => {
        if (this.sets.get(spec.releaseId) === created) this.sets.delete(spec.releaseId);
      });
    }
    return pending;
  }

  private async create(
    spec: InstanceSpec,
    config: ServiceConfig,
    target: Target,
    id: string,
    asSet = false,
  ): Promise<KnownDeployment> {
    const settings = config.kubernetes!;
    let port = settings.containerPort ?? 0;
    if (settings.network === 'host') {
      do port = await findFreePort(PORT_PROBE_HOST);
      while (this.portsInUse.has(port));
    }
    const body = planDeployment({
      spec,
      settings: config.docker!,
      kubernetes: settings,
      health: config.health,
      owner: this.options.owner,
      port,
      ...(asSet ? { replicas: config.instances } : {}),
    });
    const name = body.metadata?.name as string;
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await target.client.apps.createNamespacedDeployment({ namespace: target.namespace, body });
        const known: KnownDeployment = {
          id,
          set: asSet ? newSet(spec, config.instances) : null,
          name,
          uid: created.metadata?.uid ?? '',
          target,
          selector: body.spec!.selector.matchLabels!,
          port,
          dead: null,
          podName: null,
        };
        if (!asSet) this.deployments.set(id, known);
        if (settings.network === 'host') this.portsInUse.add(port);
        this.options.logger?.info(
          {
            deployment: name,
            namespace: target.namespace,
            image: body.spec?.template.spec?.containers[0]?.image,
            port,
          },
          'deployment created',
        );
        return known;
      } catch (error) {
        if (
          apiStatus(error) === 409 &&
          attempt === 0 &&
          (await this.objects.removeLeftover(target, name, (uid) => managesUid(this.adoption.state, uid)))
        )
          continue;
        throw new CutoverError(
          'INSTANCE_START_FAILED',
          `Cannot start ${id}: creating Deployment ${name} in namespace ${target.namespace} on ${target.client.server} failed: ${apiMessage(error)}`,
          { hint: 'Check the cluster is reachable and cutover may create Deployments there (`cutover doctor`).' },
        );
      }
    }
  }

  private manage(info: InstanceInfo, known: KnownDeployment, pod: PodView, logs: LogCopy | null): void {
    const config = this.options.serviceFor(info.service);
    known.podName = pod.name;
    known.dead = null;
    known.set?.dead.delete(info.id);
    this.instances.set(info.id, {
      info: { ...info },
      deployment: known,
      podUid: pod.uid,
      podName: pod.name,
      restarts: pod.restarts,
      node: pod.node,
      ready: pod.ready,
      everReady: pod.ready,
      notReadyReason: null,
      reasonReadAt: 0,
      probed: config ? readinessProbeOf(config.health, info.port) !== null : false,
      stopRequested: false,
      stopping: null,
      exited: false,
      logs,
    });
    if (!this.closed) this.podWatch.start();
  }

  /** Follows the pod's output into the instance log file; a stream that cannot be opened is logged, not fatal. */
  private async followLogs(
    info: InstanceInfo,
    known: KnownDeployment,
    pod: PodView,
    header: string | null,
    sinceSeconds: number | null,
  ): Promise<LogCopy | null> {
    const source = {
      kubeConfig: known.target.client.kubeConfig,
      namespace: known.target.namespace,
      pod: pod.name,
      container: CONTAINER_NAME,
    };
    return copyPodLogs(source, info.logPath, header, sinceSeconds).catch((error: unknown) => {
      this.options.logger?.warn({ instance: info.id, pod: pod.name, err: error }, 'cannot follow the pod output');
      return null;
    });
  }

  /**
   * Scales the instance's Deployment to zero, deletes its pod with the grace
   * period (SIGTERM, then SIGKILL), waits until its container has ended (or
   * the pod is gone), then deletes the Deployment.
   */
  protected async terminate(managed: ManagedPod, gracePeriodMs: number): Promise<void> {
    managed.stopRequested = true;
    if (managed.exited) return;
    const set = managed.deployment.set;
    if (!set) await this.removeDeployment(managed.deployment, gracePeriodMs);
    else {
      // The instances stopped together (a release retired) are all marked by now: the last standing removes the set.
      await Promise.resolve();
      const others = [...this.instances.values()].filter(
        (m) => m !== managed && m.deployment === managed.deployment && !m.exited && !m.stopRequested,
      );
      if (others.length === 0 && !this.starting(managed.deployment))
        await this.removeDeployment(managed.deployment, gracePeriodMs);
      else await this.removeSetPod(managed, gracePeriodMs);
    }
    this.handleExit(managed, 0);
  }

  /** Instance ids of a set that are being started (mapped, not yet managed). */
  private starting(known: KnownDeployment): boolean {
    return [...this.deployments.entries()].some(([id, k]) => k === known && !this.instances.has(id));
  }

  /**
   * Stops one instance of a set and keeps the rest: its pod leaves the
   * ReplicaSet and the Deployment is scaled down by one
   * (KubernetesObjects.takeOutOfSet), then the pod is deleted with the grace
   * period.
   */
  private async removeSetPod(managed: ManagedPod, gracePeriodMs: number): Promise<void> {
    const known = managed.deployment;
    known.set!.bound.delete(managed.podUid);
    if (this.deployments.get(managed.info.id) === known) this.deployments.delete(managed.info.id);
    await this.objects.takeOutOfSet(known, managed.podName, managed.info.id);
    await this.objects.deletePod(known.target, managed.podName, seconds(gracePeriodMs));
    await this.objects.waitUntilEnded(known.target, managed.podUid, gracePeriodMs);
  }

  /** A start that failed: the instance's own Deployment goes; a set goes with its last instance. */
  private async giveUp(known: KnownDeployment, id: string): Promise<void> {
    if (!known.set) return this.removeDeployment(known, 0);
    if (this.deployments.get(id) === known) this.deployments.delete(id);
    for (const [uid, holder] of known.set.bound) if (holder === id) known.set.bound.delete(uid);
    const inUse = [...this.deployments.values()].some((k) => k === known);
    if (!inUse) await this.removeDeployment(known, 0);
  }

  private async removeDeployment(known: KnownDeployment, gracePeriodMs: number): Promise<void> {
    if (known.set) {
      known.set.removing ??= this.removeSet(known, gracePeriodMs);
      return known.set.removing;
    }
    if (this.deployments.get(known.id) === known) this.deployments.delete(known.id);
    return this.scaleAndDelete(known, gracePeriodMs);
  }

  private async removeSet(known: KnownDeployment, gracePeriodMs: number): Promise<void> {
    const set = known.set!;
    for (const [id, k] of [...this.deployments]) if (k === known) this.deployments.delete(id);
    this.sets.delete(set.releaseId);
    await this.scaleAndDelete(known, gracePeriodMs);
  }

  private scaleAndDelete(known: KnownDeployment, gracePeriodMs: number): Promise<void> {
    this.portsInUse.delete(known.port);
    return this.objects.scaleAndDelete(known, gracePeriodMs);
  }

  private handleExit(managed: ManagedPod, code: number | null): void {
    if (managed.exited) return;
    managed.exited = true;
    // The container's output has ended (its stream ends the copy); a pod that went may leave the stream open.
    const logs = managed.logs;
    void logs?.finished(2_000).then(() => logs.stop());
    if (this.instances.get(managed.info.id) === managed) this.instances.delete(managed.info.id);
    const expected = managed.stopRequested;
    const fields = { instance: managed.info.id, pod: managed.podName, code, expected };
    if (expected) this.options.logger?.info(fields, 'instance stopped');
    else this.options.logger?.warn(fields, 'instance exited unexpectedly; the kubelet restarts its pod');
    this.exits.notify({ instance: { ...managed.info }, code, signal: null, expected });
  }
}
