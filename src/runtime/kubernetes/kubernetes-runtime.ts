import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Deployment, V1Pod, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { ServiceConfig } from '../../config/types.js';
import { CutoverError } from '../../core/errors.js';
import { ExitListeners } from '../exit-listeners.js';
import type {
  InstanceInfo,
  InstanceSpec,
  NativeRollingUpdates,
  NativeUpdateTarget,
  Runtime,
  RuntimeListener,
} from '../index.js';
import { logSince, type LogCopy } from '../docker/container-logs.js';
import { instanceLogPath } from '../process/log-files.js';
import { findFreePort } from '../process/free-port.js';
import { instanceIdOf, type RuntimeLogger } from '../process/process-runtime.js';
import { apiMessage, apiStatus, type KubernetesClient } from './kubernetes-client.js';
import {
  CONTAINER_NAME,
  KUBERNETES_ANNOTATIONS,
  KUBERNETES_LABELS,
  instanceSelector,
  isReleaseSet,
  planDeployment,
  readinessProbeOf,
  seconds,
  selectorText,
} from './kubernetes-deployment-spec.js';
import { exitCodeOf, podView, startProblem, type PodView } from './kubernetes-pods.js';
import { copyPodLogs } from './pod-logs.js';
import { KubernetesNativeUpdates } from './kubernetes-native-updates.js';
import {
  deploymentView,
  REVISION_ANNOTATION,
  templateOfRelease,
  undoTemplate,
  type DeploymentView,
  type RolloutPod,
  type RolloutSettings,
} from './kubernetes-rollout.js';

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

/** Where an instance's Deployment lives. */
interface Target {
  client: KubernetesClient;
  namespace: string;
}

/**
 * A release set's state (kubernetes-deployment-spec.ts, isReleaseSet): one
 * Deployment whose pods are the release's instances, bound as they start.
 */
export interface ReleaseSet {
  /** The release its template runs: the one updated to, once a native update completed. */
  releaseId: string;
  service: string;
  slot: string;
  replicas: number;
  /** Pod UID to the instance id it is bound to. */
  bound: Map<string, string>;
  /** Per instance id, the pod run that ended, so a start after a crash waits for the next one. */
  dead: Map<string, { uid: string; restarts: number }>;
  /** Per instance id, the pod it was last bound to, for its log after it ended. */
  lastPod: Map<string, string>;
  /** A native update runs (kubernetes-native-updates.ts): its pods' ends are Kubernetes' doing, not crashes. */
  updating: { toReleaseId: string; toVersion: string; fromRevision: string | null; rollingBack: boolean } | null;
  removing: Promise<void> | null;
}

/** The Deployment of one instance id (or of a release set); kept after a crash (the kubelet restarts the pod) until a stop removes it. */
interface KnownDeployment {
  id: string;
  /** Non-null: the Deployment is a release set's, shared by its instances. */
  set: ReleaseSet | null;
  name: string;
  uid: string;
  target: Target;
  selector: Record<string, string>;
  port: number;
  /** The pod run that ended, so a start after a crash waits for the next one. */
  dead: { uid: string; restarts: number } | null;
  /** The pod last bound, for its log after it ended. */
  podName: string | null;
}

interface ManagedPod {
  info: InstanceInfo;
  deployment: KnownDeployment;
  podUid: string;
  podName: string;
  restarts: number;
  node: string | null;
  ready: boolean;
  everReady: boolean;
  /** The kubelet's last readiness failure, read from the pod's events while it is not ready. */
  notReadyReason: string | null;
  reasonReadAt: number;
  probed: boolean;
  stopRequested: boolean;
  stopping: Promise<void> | null;
  exited: boolean;
  /** The copy of the pod's output into the instance log file; null when it could not be followed. */
  logs: LogCopy | null;
}

/** A new pod needs scheduling, a sandbox and its container: seconds on a loaded node. */
const POD_START_TIMEOUT_MS = 120_000;
const START_POLL_MS = 250;
const STOP_EXTRA_WAIT_MS = 15_000;
const REASON_REFRESH_MS = 2_000;
/** Ports are checked free on every address of this machine (cutover's own node in a single-node test). */
const PORT_PROBE_HOST = '0.0.0.0';

/**
 * Instances as Kubernetes pods, each the single replica of a Deployment of
 * its own (see kubernetes-deployment-spec.ts for why not one per release),
 * labelled cutover.owner/service/release/slot/instance/version and found
 * again by those labels after a controller restart. The kubelet restarts a
 * crashed container in place (restartPolicy Always): cutover reports the exit
 * and a start of the same instance waits for the pod's next run. cutover's
 * router dials the pod (its IP, and its own port with host networking).
 * pid is null; pidToken is the Deployment's UID, which a record must match
 * to be adopted.
 */
export class KubernetesRuntime implements Runtime {
  readonly kind = 'kubernetes';
  private readonly options: KubernetesRuntimeOptions;
  private readonly deployments = new Map<string, KnownDeployment>();
  /** Release sets by the release their template runs; the promise is shared by the starts that create it. */
  private readonly sets = new Map<string, Promise<KnownDeployment>>();
  private readonly instances = new Map<string, ManagedPod>();
  /** Host-network ports given to instances not yet gone: a free port may not be bound yet by the pod it went to. */
  private readonly portsInUse = new Set<number>();
  private readonly exits: ExitListeners;
  private closed = false;
  private poller: NodeJS.Timeout | null = null;
  private nativeUpdates: KubernetesNativeUpdates | null = null;
  private polling = false;

  constructor(options: KubernetesRuntimeOptions) {
    this.options = options;
    this.exits = new ExitListeners(options.logger);
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
      pod = await this.waitForPod(known, id);
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

  stop(instanceId: string, gracePeriodMs?: number): Promise<void> {
    const grace = gracePeriodMs ?? this.options.defaultStopGracePeriodMs ?? 10_000;
    const managed = this.instances.get(instanceId);
    if (!managed) {
      // A crashed instance nobody restarted: its Deployment still runs (the kubelet restarts its pod) and goes now.
      const known = this.deployments.get(instanceId);
      return known ? this.removeDeployment(known, grace) : Promise.resolve();
    }
    managed.stopping ??= this.terminate(managed, grace);
    return managed.stopping;
  }

  list(): InstanceInfo[] {
    return [...this.instances.values()].map((managed) => ({ ...managed.info }));
  }

  /**
   * After a controller restart: the Deployments of this state directory
   * (label cutover.owner) in the namespaces of the config's kubernetes
   * services. A recorded instance whose Deployment has the recorded UID and
   * a running pod is taken back (Kubernetes may have replaced the pod
   * meanwhile: the Deployment is the instance). A Deployment no record names
   * (the controller died between creating it and recording the instance)
   * serves nobody and is removed.
   */
  async adopt(records: InstanceInfo[]): Promise<InstanceInfo[]> {
    const adopted: InstanceInfo[] = [];
    for (const target of this.targetsOf(records)) {
      let deployments: V1Deployment[];
      try {
        deployments = (
          await target.client.apps.listNamespacedDeployment({
            namespace: target.namespace,
            labelSelector: `${KUBERNETES_LABELS.owner}=${this.options.owner}`,
          })
        ).items;
      } catch (error) {
        this.options.logger?.warn(
          { namespace: target.namespace, server: target.client.server, err: error },
          `cannot list Deployments, none adopted: ${apiMessage(error)}`,
        );
        continue;
      }
      for (const deployment of deployments) {
        const labels = deployment.metadata?.labels ?? {};
        const name = deployment.metadata?.name ?? '';
        const uid = deployment.metadata?.uid ?? '';
        if (labels[KUBERNETES_LABELS.deployment] !== undefined) {
          adopted.push(...(await this.adoptSet(deployment, target, records)));
          continue;
        }
        const id = `${labels[KUBERNETES_LABELS.service]}/${labels[KUBERNETES_LABELS.release]}/${labels[KUBERNETES_LABELS.slot]}-${labels[KUBERNETES_LABELS.instance]}`;
        const record = records.find((r) => r.id === id);
        if (!record) {
          if (![...this.deployments.values()].some((known) => known.uid === uid)) {
            this.options.logger?.info(
              { deployment: name },
              'removing a Deployment of this state directory that no record names',
            );
            await this.deleteDeployment(target, name);
          }
          continue;
        }
        if (this.instances.has(id)) continue;
        if (record.pidToken !== uid) {
          this.options.logger?.info(
            { instance: id, deployment: name },
            'instance not adopted: its Deployment is not the recorded one',
          );
          continue;
        }
        const known: KnownDeployment = {
          id,
          set: null,
          name,
          uid,
          target,
          selector: instanceSelector(this.options.owner, record),
          port: record.port,
          dead: null,
          podName: null,
        };
        const pod = (await this.podsOf(known).catch(() => [] as PodView[])).find((p) => p.running && !p.deleting);
        if (!pod) {
          this.options.logger?.info({ instance: id }, 'instance not adopted: its Deployment has no running pod');
          continue;
        }
        this.deployments.set(id, known);
        adopted.push(await this.takeBack(record, known, pod));
      }
    }
    return adopted;
  }

  /**
   * A release set after a controller restart: the records with the set's
   * UID are bound to its running pods in index order (which pod an instance
   * is does not matter: they are one template). A set no record names is
   * removed, as an instance's Deployment is.
   */
  private async adoptSet(deployment: V1Deployment, target: Target, records: InstanceInfo[]): Promise<InstanceInfo[]> {
    const name = deployment.metadata?.name ?? '';
    const uid = deployment.metadata?.uid ?? '';
    const mine = records
      .filter((r) => r.pidToken === uid && !this.instances.has(r.id))
      .sort((a, b) => a.index - b.index);
    if (mine.length === 0) {
      // Records of its release with another token are refused, not a reason to remove what runs.
      const labels = deployment.metadata?.labels ?? {};
      const named = records.some(
        (r) => r.service === labels[KUBERNETES_LABELS.service] && r.releaseId === labels[KUBERNETES_LABELS.release],
      );
      if (!named && ![...this.deployments.values()].some((known) => known.uid === uid)) {
        this.options.logger?.info(
          { deployment: name },
          'removing a Deployment of this state directory that no record names',
        );
        await this.deleteDeployment(target, name);
      }
      return [];
    }
    const first = mine[0]!;
    const releaseId = first.releaseId;
    const known: KnownDeployment = {
      id: `${first.service}/${releaseId}/${first.slot}`,
      set: newSet(first, deployment.spec?.replicas ?? mine.length),
      name,
      uid,
      target,
      selector: deployment.spec?.selector.matchLabels ?? {},
      port: first.port,
      dead: null,
      podName: null,
    };
    this.sets.set(releaseId, Promise.resolve(known));
    // The controller died during a native update: the template goes back to the recorded release's, as a
    // rollback would have done, since recovery keeps traffic on that release.
    const templateRelease = deployment.spec?.template.metadata?.labels?.[KUBERNETES_LABELS.release];
    if (templateRelease !== releaseId) await this.putBackTemplate(known, releaseId);
    const pods = (await this.podsOf(known).catch(() => [] as PodView[]))
      .filter((p) => p.running && !p.deleting && p.ip && p.release === releaseId)
      .sort((a, b) => a.name.localeCompare(b.name));
    const adopted: InstanceInfo[] = [];
    for (const record of mine) {
      const pod = pods.shift();
      if (!pod) {
        this.options.logger?.info(
          { instance: record.id },
          'instance not adopted: its Deployment has no running pod left for it',
        );
        continue;
      }
      this.deployments.set(record.id, known);
      known.set!.bound.set(pod.uid, record.id);
      known.set!.lastPod.set(record.id, pod.name);
      adopted.push(await this.takeBack(record, known, pod));
    }
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

  onExit(listener: RuntimeListener): void {
    this.exits.add(listener);
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

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.instances.keys()].map((id) => this.stop(id)));
    await Promise.all([...this.deployments.values()].map((known) => this.removeDeployment(known, 0).catch(() => {})));
    this.stopPolling();
  }

  async detach(): Promise<void> {
    this.closed = true;
    this.stopPolling();
    for (const managed of this.instances.values()) {
      managed.exited = true;
      managed.logs?.stop();
    }
    this.instances.clear();
    this.deployments.clear();
    this.sets.clear();
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
    managed.notReadyReason = await this.readinessFailure(managed);
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
   */
  async updateSet(fromReleaseId: string, to: NativeUpdateTarget, rollout: RolloutSettings): Promise<{ name: string }> {
    const known = await this.runningSet(fromReleaseId);
    const config = this.options.serviceFor(to.service);
    const what = `update ${fromReleaseId} to ${to.releaseId}`;
    if (!known)
      throw new CutoverError('INSTANCE_START_FAILED', `Cannot ${what}: no Deployment runs ${fromReleaseId}.`, {
        hint: 'Deploy again: the first deploy of a release creates its Deployment.',
      });
    if (!config?.docker || !config.kubernetes)
      throw new CutoverError('INTERNAL', `Cannot ${what}: service ${to.service} has no kubernetes settings.`);
    const set = known.set!;
    const { target, name } = known;
    const plan = planDeployment({
      spec: { ...to, index: 0, cwd: '' },
      settings: config.docker,
      kubernetes: config.kubernetes,
      health: config.health,
      owner: this.options.owner,
      port: known.port,
      replicas: set.replicas,
      name,
    });
    try {
      let revision: string | null = null;
      await this.changeDeployment(known, (current) => {
        revision = current.metadata?.annotations?.[REVISION_ANNOTATION] ?? null;
        current.metadata = {
          ...current.metadata,
          labels: plan.metadata!.labels,
          annotations: { ...current.metadata?.annotations, ...plan.metadata!.annotations },
        };
        current.spec = { ...current.spec!, ...rollout, template: plan.spec!.template };
      });
      set.updating = { toReleaseId: to.releaseId, toVersion: to.version, fromRevision: revision, rollingBack: false };
    } catch (error) {
      throw new CutoverError(
        'INSTANCE_START_FAILED',
        `Cannot ${what}: updating Deployment ${name} in namespace ${target.namespace} failed: ${apiMessage(error)}`,
        { hint: 'Check cutover may update Deployments there (`cutover doctor`).' },
      );
    }
    this.options.logger?.info({ deployment: name, to: to.releaseId, rollout }, 'rolling update started');
    return { name };
  }

  async setStatus(releaseId: string): Promise<{
    deployment: DeploymentView;
    pods: RolloutPod[];
    port: number;
    rollingBack: boolean;
    notReady: string[];
  } | null> {
    const known = await this.runningSet(releaseId);
    if (!known) return null;
    const { target, name } = known;
    const deployment = await target.client.apps.readNamespacedDeployment({ name, namespace: target.namespace });
    const pods = (
      await target.client.core.listNamespacedPod({
        namespace: target.namespace,
        labelSelector: selectorText(known.selector),
      })
    ).items;
    return {
      deployment: deploymentView(deployment),
      notReady: await this.notReadyReasons(target, pods, known.set!.updating?.toVersion ?? null),
      pods: pods
        .map((pod) => ({
          pod: podView(pod),
          version: pod.metadata?.annotations?.[KUBERNETES_ANNOTATIONS.version] ?? null,
        }))
        .sort((a, b) => a.pod.name.localeCompare(b.pod.name)),
      port: known.port,
      rollingBack: known.set!.updating?.rollingBack ?? false,
    };
  }

  /**
   * Why the new release's running pods are not Ready, in the kubelet's words
   * (their latest readiness-probe failure): the usual reason a rollout stalls.
   * At most 3 pods are asked about per look.
   */
  private async notReadyReasons(target: Target, pods: V1Pod[], version: string | null): Promise<string[]> {
    const waiting = pods
      .map(podView)
      .filter(
        (pod, i) =>
          pod.running &&
          !pod.ready &&
          !pod.deleting &&
          pods[i]!.metadata?.annotations?.[KUBERNETES_ANNOTATIONS.version] === version,
      )
      .slice(0, 3);
    const reasons: string[] = [];
    for (const pod of waiting) {
      const reason = await this.podWarning(target, pod.uid);
      if (reason) reasons.push(`pod ${pod.name} is not Ready: ${reason}`);
    }
    return reasons;
  }

  /**
   * `kubectl rollout undo`: the template of the ReplicaSet of the revision
   * before the update goes back into the Deployment (without its
   * pod-template-hash), with the Deployment's labels of that release.
   */
  async rollbackSet(releaseId: string): Promise<void> {
    const known = await this.runningSet(releaseId);
    const updating = known?.set?.updating;
    if (!known || !updating || updating.rollingBack) return;
    const { target, name } = known;
    const replicaSets = (
      await target.client.apps.listNamespacedReplicaSet({
        namespace: target.namespace,
        labelSelector: selectorText(known.selector),
      })
    ).items;
    const template = undoTemplate(replicaSets, known.uid, updating.fromRevision);
    if (!template)
      throw new CutoverError(
        'INTERNAL',
        `Cannot roll ${name} back: no ReplicaSet of revision ${updating.fromRevision ?? '?'} is left`,
      );
    await this.replaceTemplate(known, template);
    updating.rollingBack = true;
    this.options.logger?.info({ deployment: name, revision: updating.fromRevision }, 'rolling update undone');
  }

  /** Puts the template of `releaseId`'s ReplicaSet back into a set's Deployment (a native update cut short). */
  private async putBackTemplate(known: KnownDeployment, releaseId: string): Promise<void> {
    const { target, name } = known;
    try {
      const replicaSets = (
        await target.client.apps.listNamespacedReplicaSet({
          namespace: target.namespace,
          labelSelector: selectorText(known.selector),
        })
      ).items;
      const template = templateOfRelease(replicaSets, known.uid, releaseId);
      if (!template) throw new Error(`no ReplicaSet of ${releaseId} is left`);
      await this.replaceTemplate(known, template);
      this.options.logger?.warn(
        { deployment: name, release: releaseId },
        'a native update was cut short by a restart: its Deployment runs the recorded release again',
      );
    } catch (error) {
      this.options.logger?.error(
        { deployment: name, release: releaseId, err: error },
        `cannot put the recorded release back into Deployment ${name}: ${apiMessage(error)}`,
      );
    }
  }

  /** The Deployment with a template put back, and its labels with it (optimistic concurrency: retried on a conflict). */
  private replaceTemplate(known: KnownDeployment, template: V1PodTemplateSpec): Promise<void> {
    return this.changeDeployment(known, (current) => {
      current.metadata = {
        ...current.metadata,
        labels: { ...current.metadata?.labels, ...template.metadata?.labels },
        annotations: { ...current.metadata?.annotations, ...template.metadata?.annotations },
      };
      current.spec = { ...current.spec!, template };
    });
  }

  /**
   * Reads the set's Deployment, changes it and writes it back; a write that
   * lost to another (409: the Deployment controller updates its status too)
   * is read and changed again, up to 5 times.
   */
  private async changeDeployment(known: KnownDeployment, change: (current: V1Deployment) => void): Promise<void> {
    const { target, name } = known;
    for (let attempt = 0; ; attempt++) {
      const current = await target.client.apps.readNamespacedDeployment({ name, namespace: target.namespace });
      change(current);
      try {
        await target.client.apps.replaceNamespacedDeployment({ name, namespace: target.namespace, body: current });
        return;
      } catch (error) {
        if (apiStatus(error) !== 409 || attempt >= 4) throw error;
      }
    }
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
    const pods = (await this.podsOf(known).catch(() => [] as PodView[]))
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
        if (apiStatus(error) === 409 && attempt === 0 && (await this.removeLeftover(target, name))) continue;
        throw new CutoverError(
          'INSTANCE_START_FAILED',
          `Cannot start ${id}: creating Deployment ${name} in namespace ${target.namespace} on ${target.client.server} failed: ${apiMessage(error)}`,
          { hint: 'Check the cluster is reachable and cutover may create Deployments there (`cutover doctor`).' },
        );
      }
    }
  }

  /** A Deployment of this state directory left by a crash mid-start, with the name we need: removed when nothing here manages it. */
  private async removeLeftover(target: Target, name: string): Promise<boolean> {
    try {
      const existing = await target.client.apps.readNamespacedDeployment({ name, namespace: target.namespace });
      if (existing.metadata?.labels?.[KUBERNETES_LABELS.owner] !== this.options.owner) return false;
      if ([...this.deployments.values()].some((known) => known.uid === existing.metadata?.uid)) return false;
      await this.deleteDeployment(target, name);
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        try {
          await target.client.apps.readNamespacedDeployment({ name, namespace: target.namespace });
        } catch (error) {
          if (apiStatus(error) === 404) return true;
        }
        await sleep(START_POLL_MS);
      }
      return false;
    } catch {
      return false;
    }
  }

  private async podsOf(known: KnownDeployment): Promise<PodView[]> {
    const pods: V1Pod[] = (
      await known.target.client.core.listNamespacedPod({
        namespace: known.target.namespace,
        labelSelector: selectorText(known.selector),
      })
    ).items;
    return pods.map(podView);
  }

  /**
   * The running pod of an instance's Deployment, not the run that ended (a
   * start after a crash). A pod that cannot run (no image, no node fits, a
   * container that exits at once) fails the start with the kubelet's or the
   * scheduler's reason and its last log lines; a pod waiting in
   * CrashLoopBackOff after a crash is deleted, so its replacement starts now
   * rather than after the kubelet's back-off (the supervisor has its own).
   */
  private async waitForPod(known: KnownDeployment, id: string): Promise<PodView> {
    const deadline = Date.now() + POD_START_TIMEOUT_MS;
    let last = 'no pod yet';
    const set = known.set;
    for (;;) {
      if (this.closed || this.deployments.get(id) !== known || set?.removing)
        throw new CutoverError('INSTANCE_START_FAILED', `Cannot start ${id}: it was stopped during the start.`);
      let pods: PodView[] = [];
      try {
        pods = await this.podsOf(known);
      } catch (error) {
        last = `listing pods failed: ${apiMessage(error)}`;
      }
      const live = pods.filter((pod) => !pod.deleting).sort((a, b) => a.name.localeCompare(b.name));
      const dead = set ? (set.dead.get(id) ?? null) : known.dead;
      const fresh = (pod: PodView): boolean => !dead || pod.uid !== dead.uid || pod.restarts > dead.restarts;
      // A set's pod goes to one instance: the first running one no other instance has (bound before any await).
      const free = (pod: PodView): boolean => !set || (set.bound.get(pod.uid) ?? id) === id;
      const running = live.find((pod) => pod.running && pod.ip && fresh(pod) && free(pod));
      if (running) {
        if (set) {
          for (const [uid, holder] of set.bound) if (holder === id) set.bound.delete(uid);
          set.bound.set(running.uid, id);
          set.lastPod.set(id, running.name);
        }
        return running;
      }
      for (const pod of live) {
        if (!set) known.podName = pod.name;
        const problem = startProblem(pod);
        const endedAtOnce = !dead && (pod.terminated !== null || pod.waiting?.reason === 'CrashLoopBackOff');
        if (problem || endedAtOnce) {
          if (set) set.lastPod.set(id, pod.name);
          const tail = errorExcerpt(await this.tailLog(id, 40).catch(() => ''));
          throw new CutoverError(
            'INSTANCE_START_FAILED',
            `Cannot start ${id}: pod ${pod.name} of Deployment ${known.name} ${problem ?? `exited with code ${exitCodeOf(pod) ?? '?'}`}` +
              (tail ? `; last log lines:\n${tail}` : ''),
            {
              hint: 'Check image, command and resources in the service config (`kubectl describe pod` shows the same); traffic was not moved.',
            },
          );
        }
        if (dead && pod.uid === dead.uid && pod.waiting?.reason === 'CrashLoopBackOff')
          await this.deletePod(known.target, pod.name, 0);
        last = `pod ${pod.name} is ${pod.waiting?.reason || pod.phase}`;
      }
      if (Date.now() > deadline)
        throw new CutoverError(
          'INSTANCE_START_FAILED',
          `Cannot start ${id}: Deployment ${known.name} had no running pod${set ? ' free for it' : ''} within ${POD_START_TIMEOUT_MS / 1000} s (${last}).`,
        );
      await sleep(START_POLL_MS);
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
    this.startPolling();
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

  private startPolling(): void {
    if (this.poller || this.closed) return;
    this.poller = setInterval(() => void this.poll(), this.options.pollMs ?? 500);
    this.poller.unref();
  }

  private stopPolling(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  /** One look at the pods of every namespace in use: readiness, and the exits (a pod gone, a container that ended). */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const byTarget = new Map<Target, ManagedPod[]>();
      for (const managed of this.instances.values()) {
        const list = byTarget.get(managed.deployment.target) ?? [];
        list.push(managed);
        byTarget.set(managed.deployment.target, list);
      }
      if (byTarget.size === 0) this.stopPolling();
      for (const [target, managedPods] of byTarget) {
        let pods: PodView[];
        try {
          pods = (
            await target.client.core.listNamespacedPod({
              namespace: target.namespace,
              labelSelector: `${KUBERNETES_LABELS.owner}=${this.options.owner}`,
            })
          ).items.map(podView);
        } catch (error) {
          this.options.logger?.warn(
            { namespace: target.namespace, err: error },
            `cannot list pods: ${apiMessage(error)}`,
          );
          continue;
        }
        for (const managed of managedPods) {
          // During a native update Kubernetes replaces the set's pods: the update's end rebinds the instances.
          if (managed.exited || managed.stopRequested || managed.deployment.set?.updating) continue;
          const pod = pods.find((p) => p.uid === managed.podUid);
          const ended =
            !pod ||
            pod.deleting ||
            pod.restarts > managed.restarts ||
            pod.terminated !== null ||
            pod.waiting?.reason === 'CrashLoopBackOff';
          if (ended) {
            const run = { uid: managed.podUid, restarts: managed.restarts };
            const set = managed.deployment.set;
            if (set) {
              set.dead.set(managed.info.id, run);
              // A pod that went is replaced by a new one (any instance's); one restarted in place stays this one's.
              if (!pod || pod.deleting) set.bound.delete(managed.podUid);
            } else managed.deployment.dead = run;
            this.handleExit(managed, exitCodeOf(pod ?? null));
            continue;
          }
          if (pod.ready !== managed.ready) {
            managed.ready = pod.ready;
            if (pod.ready) {
              managed.everReady = true;
              managed.notReadyReason = null;
            }
          }
        }
      }
    } finally {
      this.polling = false;
    }
  }

  /** The message of the pod's latest readiness-probe failure event, else of its latest warning. */
  private readinessFailure(managed: ManagedPod): Promise<string | null> {
    return this.podWarning(managed.deployment.target, managed.podUid);
  }

  private async podWarning(target: Target, podUid: string): Promise<string | null> {
    try {
      const events = (
        await target.client.core.listNamespacedEvent({
          namespace: target.namespace,
          fieldSelector: `involvedObject.uid=${podUid}`,
        })
      ).items.filter((event) => event.type === 'Warning' && event.message);
      const time = (event: (typeof events)[number]): number =>
        new Date(event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp ?? 0).getTime();
      events.sort((a, b) => time(a) - time(b));
      const readiness = events.filter((event) => event.message?.startsWith('Readiness probe failed'));
      return (readiness.at(-1) ?? events.at(-1))?.message?.trim() ?? null;
    } catch {
      return null;
    }
  }

  /**
   * Scales the instance's Deployment to zero, deletes its pod with the grace
   * period (SIGTERM, then SIGKILL), waits until its container has ended (or
   * the pod is gone), then deletes the Deployment.
   */
  private async terminate(managed: ManagedPod, gracePeriodMs: number): Promise<void> {
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
   * ReplicaSet (a selector label changed, as Kubernetes' docs suggest for
   * taking a pod out of service), the Deployment is scaled down by one (the
   * replacement the ReplicaSet made meanwhile is the one it removes: not
   * ready, newest), and the pod is deleted with the grace period.
   */
  private async removeSetPod(managed: ManagedPod, gracePeriodMs: number): Promise<void> {
    const known = managed.deployment;
    const set = known.set!;
    const { target } = known;
    set.bound.delete(managed.podUid);
    if (this.deployments.get(managed.info.id) === known) this.deployments.delete(managed.info.id);
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        const pod = await target.client.core.readNamespacedPod({ name: managed.podName, namespace: target.namespace });
        pod.metadata!.labels = { ...pod.metadata?.labels, [KUBERNETES_LABELS.deployment]: `${known.name}-stopped` };
        try {
          await target.client.core.replaceNamespacedPod({
            name: managed.podName,
            namespace: target.namespace,
            body: pod,
          });
          break;
        } catch (error) {
          if (apiStatus(error) !== 409) throw error;
        }
      }
      set.replicas = Math.max(0, set.replicas - 1);
      await target.client.apps.replaceNamespacedDeploymentScale({
        name: known.name,
        namespace: target.namespace,
        body: { metadata: { name: known.name, namespace: target.namespace }, spec: { replicas: set.replicas } },
      });
    } catch (error) {
      if (apiStatus(error) !== 404)
        this.options.logger?.warn(
          { instance: managed.info.id, pod: managed.podName, err: error },
          `taking the pod out of its Deployment failed: ${apiMessage(error)}`,
        );
    }
    await this.deletePod(target, managed.podName, seconds(gracePeriodMs));
    const deadline = Date.now() + gracePeriodMs + STOP_EXTRA_WAIT_MS;
    while (Date.now() < deadline) {
      const pods = await target.client.core
        .listNamespacedPod({
          namespace: target.namespace,
          labelSelector: `${KUBERNETES_LABELS.owner}=${this.options.owner}`,
        })
        .then((list) => list.items.map(podView))
        .catch(() => null);
      if (pods !== null && !pods.some((pod) => pod.uid === managed.podUid && pod.running)) return;
      await sleep(START_POLL_MS);
    }
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

  private async scaleAndDelete(known: KnownDeployment, gracePeriodMs: number): Promise<void> {
    const { target, name } = known;
    this.portsInUse.delete(known.port);
    try {
      await target.client.apps.replaceNamespacedDeploymentScale({
        name,
        namespace: target.namespace,
        body: { metadata: { name, namespace: target.namespace }, spec: { replicas: 0 } },
      });
    } catch (error) {
      if (apiStatus(error) === 404) return;
      this.options.logger?.warn(
        { deployment: name, err: error },
        `scaling the Deployment to 0 failed: ${apiMessage(error)}`,
      );
    }
    const deadline = Date.now() + gracePeriodMs + STOP_EXTRA_WAIT_MS;
    for (;;) {
      const pods = await this.podsOf(known).catch(() => null);
      // Done once the app has ended: the kubelet's removal of the sandbox and the pod object can take seconds more.
      if (pods !== null && pods.every((pod) => pod.deleting && !pod.running)) break;
      const deleting = new Set(pods?.filter((pod) => pod.deleting).map((pod) => pod.name));
      for (const pod of pods ?? [])
        if (!deleting.has(pod.name)) await this.deletePod(target, pod.name, seconds(gracePeriodMs));
      if (Date.now() > deadline) {
        this.options.logger?.warn(
          { deployment: name },
          'the pod did not go within its grace period; giving up waiting',
        );
        break;
      }
      await sleep(START_POLL_MS);
    }
    await this.deleteDeployment(target, name);
    this.options.logger?.info({ deployment: name }, 'deployment removed');
  }

  private async deletePod(target: Target, name: string, gracePeriodSeconds: number): Promise<void> {
    try {
      await target.client.core.deleteNamespacedPod({ name, namespace: target.namespace, gracePeriodSeconds });
    } catch (error) {
      if (apiStatus(error) !== 404)
        this.options.logger?.warn({ pod: name, err: error }, `deleting the pod failed: ${apiMessage(error)}`);
    }
  }

  private async deleteDeployment(target: Target, name: string): Promise<void> {
    try {
      await target.client.apps.deleteNamespacedDeployment({
        name,
        namespace: target.namespace,
        propagationPolicy: 'Background',
      });
    } catch (error) {
      if (apiStatus(error) !== 404)
        this.options.logger?.warn(
          { deployment: name, err: error },
          `deleting the Deployment failed: ${apiMessage(error)}`,
        );
    }
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

function newSet(spec: { service: string; releaseId: string; slot: string }, replicas: number): ReleaseSet {
  return {
    releaseId: spec.releaseId,
    service: spec.service,
    slot: spec.slot,
    replicas,
    bound: new Map(),
    dead: new Map(),
    lastPod: new Map(),
    updating: null,
    removing: null,
  };
}

/**
 * The part of a failed start's log that says why: from its first line that
 * mentions an error (a stack trace's message comes before its frames), at
 * most 12 lines; else its last 10.
 */
function errorExcerpt(text: string): string {
  const lines = text.split('\n');
  const first = lines.findIndex((line) => /error/i.test(line));
  const start = first === -1 ? Math.max(0, lines.length - 10) : first;
  return lines.slice(start, start + 12).join('\n');
}
