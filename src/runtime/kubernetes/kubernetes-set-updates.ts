import type { V1Pod } from '@kubernetes/client-node';
import type { ServiceConfig } from '../../config/types.js';
import { CutoverError } from '../../core/errors.js';
import type { NativeUpdateTarget } from '../index.js';
import type { RuntimeLogger } from '../process/process-runtime.js';
import { apiMessage } from './kubernetes-client.js';
import { KUBERNETES_ANNOTATIONS, planDeployment, selectorText } from './kubernetes-deployment-spec.js';
import type { KnownDeployment, Target } from './kubernetes-instance-state.js';
import type { KubernetesObjects } from './kubernetes-objects.js';
import { podView } from './kubernetes-pods.js';
import {
  deploymentView,
  REVISION_ANNOTATION,
  templateOfRelease,
  undoTemplate,
  type DeploymentView,
  type RolloutPod,
  type RolloutSettings,
} from './kubernetes-rollout.js';

/** What the updates of release sets need of the runtime. */
export interface SetUpdateContext {
  owner: string;
  logger?: RuntimeLogger;
  serviceFor(service: string): ServiceConfig | undefined;
  objects: KubernetesObjects;
  /** The set running that release, null when none runs it (or it is being removed). */
  runningSet(releaseId: string): Promise<KnownDeployment | null>;
}

export interface SetStatus {
  deployment: DeploymentView;
  pods: RolloutPod[];
  port: number;
  rollingBack: boolean;
  notReady: string[];
}

/**
 * The Deployment side of a release set's native update
 * (kubernetes-native-updates.ts drives it): the new template in, its status
 * read, the old template put back.
 */
export class ReleaseSetUpdates {
  constructor(private readonly context: SetUpdateContext) {}

  /**
   * Starts Kubernetes' RollingUpdate of the set running `fromReleaseId`: the
   * template of release `to` (same name, selector and replicas) with the
   * rollout's settings. The Deployment's revision before it is kept for a
   * rollback. Its pods' ends meanwhile are the rollout's, not crashes.
   */
  async update(fromReleaseId: string, to: NativeUpdateTarget, rollout: RolloutSettings): Promise<{ name: string }> {
    const known = await this.context.runningSet(fromReleaseId);
    const config = this.context.serviceFor(to.service);
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
      owner: this.context.owner,
      port: known.port,
      replicas: set.replicas,
      name,
    });
    try {
      let revision: string | null = null;
      await this.context.objects.changeDeployment(known, (current) => {
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
    this.context.logger?.info({ deployment: name, to: to.releaseId, rollout }, 'rolling update started');
    return { name };
  }

  async status(releaseId: string): Promise<SetStatus | null> {
    const known = await this.context.runningSet(releaseId);
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
   * `kubectl rollout undo`: the template of the ReplicaSet of the revision
   * before the update goes back into the Deployment (without its
   * pod-template-hash), with the Deployment's labels of that release.
   */
  async rollback(releaseId: string): Promise<void> {
    const known = await this.context.runningSet(releaseId);
    const updating = known?.set?.updating;
    if (!known || !updating || updating.rollingBack) return;
    const template = undoTemplate(await this.context.objects.replicaSetsOf(known), known.uid, updating.fromRevision);
    if (!template)
      throw new CutoverError(
        'INTERNAL',
        `Cannot roll ${known.name} back: no ReplicaSet of revision ${updating.fromRevision ?? '?'} is left`,
      );
    await this.context.objects.replaceTemplate(known, template);
    updating.rollingBack = true;
    this.context.logger?.info({ deployment: known.name, revision: updating.fromRevision }, 'rolling update undone');
  }

  /** Puts the template of `releaseId`'s ReplicaSet back into a set's Deployment (a native update cut short). */
  async putBackTemplate(known: KnownDeployment, releaseId: string): Promise<void> {
    const { name } = known;
    try {
      const template = templateOfRelease(await this.context.objects.replicaSetsOf(known), known.uid, releaseId);
      if (!template) throw new Error(`no ReplicaSet of ${releaseId} is left`);
      await this.context.objects.replaceTemplate(known, template);
      this.context.logger?.warn(
        { deployment: name, release: releaseId },
        'a native update was cut short by a restart: its Deployment runs the recorded release again',
      );
    } catch (error) {
      this.context.logger?.error(
        { deployment: name, release: releaseId, err: error },
        `cannot put the recorded release back into Deployment ${name}: ${apiMessage(error)}`,
      );
    }
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
          !pod.deleting &&
          !pod.ready &&
          pods[i]!.metadata?.annotations?.[KUBERNETES_ANNOTATIONS.version] === version,
      )
      .slice(0, 3);
    const reasons: string[] = [];
    for (const pod of waiting) {
      const reason = await this.context.objects.podWarning(target, pod.uid);
      if (reason) reasons.push(`pod ${pod.name} is not Ready: ${reason}`);
    }
    return reasons;
  }
}
