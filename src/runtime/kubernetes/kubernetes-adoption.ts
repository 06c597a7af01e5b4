import type { V1Deployment } from '@kubernetes/client-node';
import type { InstanceInfo } from '../index.js';
import type { RuntimeLogger } from '../process/process-runtime.js';
import { apiMessage } from './kubernetes-client.js';
import { instanceSelector, KUBERNETES_LABELS } from './kubernetes-deployment-spec.js';
import {
  managesUid,
  newSet,
  type KnownDeployment,
  type KubernetesInstances,
  type Target,
} from './kubernetes-instance-state.js';
import type { KubernetesObjects } from './kubernetes-objects.js';
import type { PodView } from './kubernetes-pods.js';
import type { ReleaseSetUpdates } from './kubernetes-set-updates.js';

export interface AdoptionContext {
  owner: string;
  logger?: RuntimeLogger;
  state: KubernetesInstances;
  objects: KubernetesObjects;
  setUpdates: ReleaseSetUpdates;
  /** Manages a recorded instance again on its pod. */
  takeBack(record: InstanceInfo, known: KnownDeployment, pod: PodView): Promise<InstanceInfo>;
}

/**
 * After a controller restart: the Deployments of this state directory (label
 * cutover.owner) in one namespace. A recorded instance whose Deployment has
 * the recorded UID and a running pod is taken back (Kubernetes may have
 * replaced the pod meanwhile: the Deployment is the instance). A Deployment
 * no record names (the controller died between creating it and recording
 * the instance) serves nobody and is removed.
 */
export async function adoptIn(
  context: AdoptionContext,
  target: Target,
  records: InstanceInfo[],
): Promise<InstanceInfo[]> {
  const { state, logger } = context;
  let deployments: V1Deployment[];
  try {
    deployments = (
      await target.client.apps.listNamespacedDeployment({
        namespace: target.namespace,
        labelSelector: `${KUBERNETES_LABELS.owner}=${context.owner}`,
      })
    ).items;
  } catch (error) {
    logger?.warn(
      { namespace: target.namespace, server: target.client.server, err: error },
      `cannot list Deployments, none adopted: ${apiMessage(error)}`,
    );
    return [];
  }
  const adopted: InstanceInfo[] = [];
  for (const deployment of deployments) {
    const labels = deployment.metadata?.labels ?? {};
    const name = deployment.metadata?.name ?? '';
    const uid = deployment.metadata?.uid ?? '';
    if (labels[KUBERNETES_LABELS.deployment] !== undefined) {
      adopted.push(...(await adoptSet(context, deployment, target, records)));
      continue;
    }
    const id = `${labels[KUBERNETES_LABELS.service]}/${labels[KUBERNETES_LABELS.release]}/${labels[KUBERNETES_LABELS.slot]}-${labels[KUBERNETES_LABELS.instance]}`;
    const record = records.find((r) => r.id === id);
    if (!record) {
      if (!managesUid(state, uid)) {
        logger?.info({ deployment: name }, 'removing a Deployment of this state directory that no record names');
        await context.objects.deleteDeployment(target, name);
      }
      continue;
    }
    if (state.instances.has(id)) continue;
    if (record.pidToken !== uid) {
      logger?.info({ instance: id, deployment: name }, 'instance not adopted: its Deployment is not the recorded one');
      continue;
    }
    const known: KnownDeployment = {
      id,
      set: null,
      name,
      uid,
      target,
      selector: instanceSelector(context.owner, record),
      port: record.port,
      dead: null,
      podName: null,
    };
    const pod = (await context.objects.podsOf(known).catch(() => [] as PodView[])).find(
      (p) => p.running && !p.deleting,
    );
    if (!pod) {
      logger?.info({ instance: id }, 'instance not adopted: its Deployment has no running pod');
      continue;
    }
    state.deployments.set(id, known);
    adopted.push(await context.takeBack(record, known, pod));
  }
  return adopted;
}

/**
 * A release set after a controller restart: the records with the set's
 * UID are bound to its running pods in index order (which pod an instance
 * is does not matter: they are one template). A set no record names is
 * removed, as an instance's Deployment is.
 */
async function adoptSet(
  context: AdoptionContext,
  deployment: V1Deployment,
  target: Target,
  records: InstanceInfo[],
): Promise<InstanceInfo[]> {
  const { state, logger } = context;
  const name = deployment.metadata?.name ?? '';
  const uid = deployment.metadata?.uid ?? '';
  const mine = records
    .filter((r) => r.pidToken === uid && !state.instances.has(r.id))
    .sort((a, b) => a.index - b.index);
  if (mine.length === 0) {
    // Records of its release with another token are refused, not a reason to remove what runs.
    const labels = deployment.metadata?.labels ?? {};
    const named = records.some(
      (r) => r.service === labels[KUBERNETES_LABELS.service] && r.releaseId === labels[KUBERNETES_LABELS.release],
    );
    if (!named && !managesUid(state, uid)) {
      logger?.info({ deployment: name }, 'removing a Deployment of this state directory that no record names');
      await context.objects.deleteDeployment(target, name);
    }
    return [];
  }
  const first = mine[0]!;
  const releaseId = first.releaseId;
  const set = newSet(first, deployment.spec?.replicas ?? mine.length);
  const known: KnownDeployment = {
    id: `${first.service}/${releaseId}/${first.slot}`,
    set,
    name,
    uid,
    target,
    selector: deployment.spec?.selector.matchLabels ?? {},
    port: first.port,
    dead: null,
    podName: null,
  };
  state.sets.set(releaseId, Promise.resolve(known));
  // The controller died during a native update: the template goes back to the recorded release's, as a
  // rollback would have done, since recovery keeps traffic on that release.
  const templateRelease = deployment.spec?.template.metadata?.labels?.[KUBERNETES_LABELS.release];
  if (templateRelease !== releaseId) await context.setUpdates.putBackTemplate(known, releaseId);
  const pods = (await context.objects.podsOf(known).catch(() => [] as PodView[]))
    .filter((p) => p.running && !p.deleting && p.ip && p.release === releaseId)
    .sort((a, b) => a.name.localeCompare(b.name));
  const adopted: InstanceInfo[] = [];
  for (const record of mine) {
    const pod = pods.shift();
    if (!pod) {
      logger?.info({ instance: record.id }, 'instance not adopted: its Deployment has no running pod left for it');
      continue;
    }
    state.deployments.set(record.id, known);
    set.bound.set(pod.uid, record.id);
    set.lastPod.set(record.id, pod.name);
    adopted.push(await context.takeBack(record, known, pod));
  }
  return adopted;
}
