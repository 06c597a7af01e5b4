import type { V1Deployment, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import type { NativeRollingSettings, NativeUpdateProgress, NativeUpdateTask } from '../index.js';
import type { PodView } from './kubernetes-pods.js';

/**
 * Kubernetes' own RollingUpdate of a service's Deployment, in cutover's
 * words, without I/O: the strategy's keys as the Deployment's, and the
 * Deployment's status read back as the native update's progress (the same
 * states Swarm's UpdateStatus gives, so one runner follows both).
 *
 * Mapping (where Kubernetes has no equivalent, what is done instead):
 * - order start-first: maxSurge = parallelism, maxUnavailable = 0;
 *   stop-first: maxSurge = 0, maxUnavailable = parallelism.
 * - monitor (+ delay): minReadySeconds. A pod must stay Ready that long
 *   before it counts as available and the next batch starts, which is
 *   Swarm's monitor; Kubernetes has no pause between batches, so the delay
 *   is added to it rather than dropped.
 * - timeout (per batch): progressDeadlineSeconds, the time without progress
 *   after which the Deployment says ProgressDeadlineExceeded (it must exceed
 *   minReadySeconds).
 * - failure_action and max_failure_ratio: Kubernetes never rolls back by
 *   itself; cutover reads a stalled rollout as `paused` and rolls it back
 *   (what `kubectl rollout undo` does), as it does Swarm's pause.
 */
export interface RolloutSettings {
  strategy: { type: 'RollingUpdate'; rollingUpdate: { maxSurge: number; maxUnavailable: number } };
  minReadySeconds: number;
  progressDeadlineSeconds: number;
}

export function rolloutSettingsOf(
  rolling: NativeRollingSettings & { deployTimeoutMs: number },
  instances: number,
): RolloutSettings {
  const batch = Math.max(1, Math.min(rolling.parallelism, instances));
  const minReadySeconds = Math.ceil((rolling.monitorMs + rolling.delayMs) / 1000);
  return {
    strategy: {
      type: 'RollingUpdate',
      rollingUpdate:
        rolling.order === 'start-first'
          ? { maxSurge: batch, maxUnavailable: 0 }
          : { maxSurge: 0, maxUnavailable: batch },
    },
    minReadySeconds,
    progressDeadlineSeconds: Math.max(Math.ceil(rolling.deployTimeoutMs / 1000), minReadySeconds + 1),
  };
}

/** What the rollout's state is read from: the Deployment's spec and status. */
export interface DeploymentView {
  generation: number;
  observedGeneration: number;
  /** spec.replicas: how many pods the Deployment wants. */
  wanted: number;
  /** status: every pod of every ReplicaSet, those of the current template, and those available. */
  replicas: number;
  updated: number;
  available: number;
  progressing: { status: string; reason: string; message: string } | null;
}

export function deploymentView(deployment: V1Deployment): DeploymentView {
  const progressing = deployment.status?.conditions?.find((c) => c.type === 'Progressing');
  return {
    generation: deployment.metadata?.generation ?? 0,
    observedGeneration: deployment.status?.observedGeneration ?? 0,
    wanted: deployment.spec?.replicas ?? 0,
    replicas: deployment.status?.replicas ?? 0,
    updated: deployment.status?.updatedReplicas ?? 0,
    available: deployment.status?.availableReplicas ?? 0,
    progressing: progressing
      ? { status: progressing.status, reason: progressing.reason ?? '', message: progressing.message ?? '' }
      : null,
  };
}

/** The Deployment controller's revision counter, on a Deployment and on each of its ReplicaSets. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** The label the Deployment controller adds to tell its ReplicaSets' pods apart. */
const POD_TEMPLATE_HASH = 'pod-template-hash';

/**
 * What `kubectl rollout undo` puts back: the template of the Deployment's
 * own ReplicaSet of that revision, without the pod-template-hash label the
 * controller added; null when that ReplicaSet is gone.
 */
export function undoTemplate(
  replicaSets: V1ReplicaSet[],
  deploymentUid: string,
  revision: string | null,
): V1PodTemplateSpec | null {
  const previous = replicaSets.find(
    (rs) =>
      rs.metadata?.annotations?.[REVISION_ANNOTATION] === revision &&
      rs.metadata?.ownerReferences?.some((owner) => owner.uid === deploymentUid),
  );
  if (!previous?.spec?.template) return null;
  const template = structuredClone(previous.spec.template);
  delete template.metadata?.labels?.[POD_TEMPLATE_HASH];
  return template;
}

/**
 * The template a set ran release `releaseId` with: that of the Deployment's
 * newest ReplicaSet of that release (a controller that died during a native
 * update puts it back), without its pod-template-hash; null when none is left.
 */
export function templateOfRelease(
  replicaSets: V1ReplicaSet[],
  deploymentUid: string,
  releaseId: string,
): V1PodTemplateSpec | null {
  const revision = (rs: V1ReplicaSet): number => Number(rs.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0);
  const mine = replicaSets
    .filter(
      (rs) =>
        rs.metadata?.ownerReferences?.some((owner) => owner.uid === deploymentUid) &&
        rs.spec?.template?.metadata?.labels?.['cutover.release'] === releaseId,
    )
    .sort((a, b) => revision(b) - revision(a));
  const template = mine[0]?.spec?.template;
  if (!template) return null;
  const copy = structuredClone(template);
  delete copy.metadata?.labels?.[POD_TEMPLATE_HASH];
  return copy;
}

/**
 * The rollout's state in the native update's terms: `updating` until every
 * pod is of the current template and available and no old one is left,
 * then `completed`; a rollout past its progress deadline is `paused`. While
 * cutover rolls back (`rollingBack`) the same reading gives the rollback's
 * states.
 */
export function rolloutState(
  deployment: DeploymentView,
  rollingBack: boolean,
): { state: string; message: string | null } {
  const seen = deployment.observedGeneration >= deployment.generation;
  const stalled =
    seen && deployment.progressing?.status === 'False' && deployment.progressing.reason === 'ProgressDeadlineExceeded';
  if (stalled) return { state: rollingBack ? 'rollback_paused' : 'paused', message: deployment.progressing!.message };
  const done =
    seen &&
    deployment.updated === deployment.wanted &&
    deployment.replicas === deployment.wanted &&
    deployment.available === deployment.wanted;
  if (done) return { state: rollingBack ? 'rollback_completed' : 'completed', message: null };
  return {
    state: rollingBack ? 'rollback_started' : 'updating',
    message: `${deployment.updated} of ${deployment.wanted} pod(s) updated, ${deployment.available} available`,
  };
}

/** A pod of either release during a rollout, as the router may use it. */
export interface RolloutPod {
  pod: PodView;
  /** Its release's version (from the pod's annotation), null when it has none. */
  version: string | null;
}

/**
 * The running pods of both ReplicaSets as the update's tasks, oldest first
 * (so a task keeps its slot while the rollout goes on), each on its own IP
 * and the container port; only a pod the kubelet calls Ready answers. A pod
 * being deleted is no task: Kubernetes has already sent it SIGTERM.
 */
export function rolloutTasks(pods: RolloutPod[], port: number): NativeUpdateTask[] {
  return pods
    .filter(({ pod }) => pod.running && !pod.deleting && pod.ip !== null)
    .map(({ pod, version }, slot) => ({
      id: pod.uid,
      slot: slot + 1,
      version,
      host: pod.ip!,
      port,
      answers: pod.ready,
    }));
}

/** Why the new release's pods do not come up: the kubelet's and scheduler's words, once each. */
export function rolloutProblems(newPods: PodView[]): string[] {
  const problems = new Set<string>();
  for (const pod of newPods) {
    if (pod.unschedulable) problems.add(`pod ${pod.name} cannot be scheduled: ${pod.unschedulable}`);
    if (pod.waiting && pod.waiting.reason !== 'ContainerCreating' && pod.waiting.reason !== 'PodInitializing')
      problems.add(`pod ${pod.name}: ${pod.waiting.reason}${pod.waiting.message ? `: ${pod.waiting.message}` : ''}`);
    const ended = pod.terminated ?? pod.lastTerminated;
    if (ended && ended.exitCode !== 0)
      problems.add(`pod ${pod.name} exited with code ${ended.exitCode}${ended.reason ? ` (${ended.reason})` : ''}`);
  }
  return [...problems];
}

/** The progress the runner follows, from one reading of the Deployment and its pods. */
export function rolloutProgress(input: {
  deployment: DeploymentView;
  rollingBack: boolean;
  pods: RolloutPod[];
  newVersion: string;
  port: number;
}): NativeUpdateProgress {
  const { state, message } = rolloutState(input.deployment, input.rollingBack);
  return {
    state,
    message,
    tasks: rolloutTasks(input.pods, input.port),
    problems: rolloutProblems(input.pods.filter((p) => p.version === input.newVersion).map((p) => p.pod)),
  };
}
