import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Deployment, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import type { RuntimeLogger } from '../process/process-runtime.js';
import { apiMessage, apiStatus } from './kubernetes-client.js';
import { KUBERNETES_LABELS, seconds, selectorText } from './kubernetes-deployment-spec.js';
import type { KnownDeployment, Target } from './kubernetes-instance-state.js';
import { podView, type PodView } from './kubernetes-pods.js';

export const START_POLL_MS = 250;
/** How long past its grace period a stop waits for the pod's container to end. */
const STOP_EXTRA_WAIT_MS = 15_000;

/**
 * The API calls the runtime makes on the Deployments and pods of one state
 * directory (label cutover.owner), with the errors a stop can live with
 * (404: already gone) logged rather than thrown.
 */
export class KubernetesObjects {
  constructor(
    private readonly owner: string,
    private readonly logger: RuntimeLogger | undefined,
  ) {}

  /** The pods of a Deployment (by its selector), including those being deleted. */
  async podsOf(known: KnownDeployment): Promise<PodView[]> {
    const pods = await known.target.client.core.listNamespacedPod({
      namespace: known.target.namespace,
      labelSelector: selectorText(known.selector),
    });
    return pods.items.map(podView);
  }

  /** Every pod of this state directory in a namespace: one list call whatever the number of Deployments. */
  async ownedPods(target: Target): Promise<PodView[]> {
    const pods = await target.client.core.listNamespacedPod({
      namespace: target.namespace,
      labelSelector: `${KUBERNETES_LABELS.owner}=${this.owner}`,
    });
    return pods.items.map(podView);
  }

  async replicaSetsOf(known: KnownDeployment): Promise<V1ReplicaSet[]> {
    const { target } = known;
    const list = await target.client.apps.listNamespacedReplicaSet({
      namespace: target.namespace,
      labelSelector: selectorText(known.selector),
    });
    return list.items;
  }

  /**
   * Reads the set's Deployment, changes it and writes it back; a write that
   * lost to another (409: the Deployment controller updates its status too)
   * is read and changed again, up to 5 times.
   */
  async changeDeployment(known: KnownDeployment, change: (current: V1Deployment) => void): Promise<void> {
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

  /** The Deployment with a template put back, and its labels with it (optimistic concurrency: retried on a conflict). */
  replaceTemplate(known: KnownDeployment, template: V1PodTemplateSpec): Promise<void> {
    return this.changeDeployment(known, (current) => {
      current.metadata = {
        ...current.metadata,
        labels: { ...current.metadata?.labels, ...template.metadata?.labels },
        annotations: { ...current.metadata?.annotations, ...template.metadata?.annotations },
      };
      current.spec = { ...current.spec!, template };
    });
  }

  /** The message of the pod's latest readiness-probe failure event, else of its latest warning. */
  async podWarning(target: Target, podUid: string): Promise<string | null> {
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
   * A Deployment of this state directory left by a crash mid-start, with the
   * name we need: removed when nothing here manages it (`managed` says which
   * UIDs the runtime holds). True once it is gone.
   */
  async removeLeftover(target: Target, name: string, managed: (uid: string | undefined) => boolean): Promise<boolean> {
    try {
      const existing = await target.client.apps.readNamespacedDeployment({ name, namespace: target.namespace });
      if (existing.metadata?.labels?.[KUBERNETES_LABELS.owner] !== this.owner) return false;
      if (managed(existing.metadata?.uid)) return false;
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

  /**
   * Takes one pod out of its set's ReplicaSet (a selector label changed, as
   * Kubernetes' docs suggest for taking a pod out of service) and scales the
   * Deployment down by one: the replacement the ReplicaSet made meanwhile is
   * the one it removes (not ready, newest).
   */
  async takeOutOfSet(known: KnownDeployment, podName: string, instanceId: string): Promise<void> {
    const set = known.set!;
    const { target } = known;
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        const pod = await target.client.core.readNamespacedPod({ name: podName, namespace: target.namespace });
        pod.metadata!.labels = { ...pod.metadata?.labels, [KUBERNETES_LABELS.deployment]: `${known.name}-stopped` };
        try {
          await target.client.core.replaceNamespacedPod({ name: podName, namespace: target.namespace, body: pod });
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
        this.logger?.warn(
          { instance: instanceId, pod: podName, err: error },
          `taking the pod out of its Deployment failed: ${apiMessage(error)}`,
        );
    }
  }

  /** Waits until the pod of that UID no longer runs (or is gone), at most its grace period and 15 s more. */
  async waitUntilEnded(target: Target, podUid: string, gracePeriodMs: number): Promise<void> {
    const deadline = Date.now() + gracePeriodMs + STOP_EXTRA_WAIT_MS;
    while (Date.now() < deadline) {
      const pods = await this.ownedPods(target).catch(() => null);
      if (pods !== null && !pods.some((pod) => pod.uid === podUid && pod.running)) return;
      await sleep(START_POLL_MS);
    }
  }

  /**
   * Scales the Deployment to zero, deletes its pods with the grace period
   * (SIGTERM, then SIGKILL), waits until their containers have ended (or the
   * pods are gone), then deletes the Deployment.
   */
  async scaleAndDelete(known: KnownDeployment, gracePeriodMs: number): Promise<void> {
    const { target, name } = known;
    try {
      await target.client.apps.replaceNamespacedDeploymentScale({
        name,
        namespace: target.namespace,
        body: { metadata: { name, namespace: target.namespace }, spec: { replicas: 0 } },
      });
    } catch (error) {
      if (apiStatus(error) === 404) return;
      this.logger?.warn({ deployment: name, err: error }, `scaling the Deployment to 0 failed: ${apiMessage(error)}`);
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
        this.logger?.warn({ deployment: name }, 'the pod did not go within its grace period; giving up waiting');
        break;
      }
      await sleep(START_POLL_MS);
    }
    await this.deleteDeployment(target, name);
    this.logger?.info({ deployment: name }, 'deployment removed');
  }

  async deletePod(target: Target, name: string, gracePeriodSeconds: number): Promise<void> {
    try {
      await target.client.core.deleteNamespacedPod({ name, namespace: target.namespace, gracePeriodSeconds });
    } catch (error) {
      if (apiStatus(error) !== 404)
        this.logger?.warn({ pod: name, err: error }, `deleting the pod failed: ${apiMessage(error)}`);
    }
  }

  async deleteDeployment(target: Target, name: string): Promise<void> {
    try {
      await target.client.apps.deleteNamespacedDeployment({
        name,
        namespace: target.namespace,
        propagationPolicy: 'Background',
      });
    } catch (error) {
      if (apiStatus(error) !== 404)
        this.logger?.warn({ deployment: name, err: error }, `deleting the Deployment failed: ${apiMessage(error)}`);
    }
  }
}
