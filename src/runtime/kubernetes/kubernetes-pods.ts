import type { V1Pod } from '@kubernetes/client-node';
import { CONTAINER_NAME } from './kubernetes-deployment-spec.js';

/** What cutover reads from a pod: its identity, where it answers, and how its one container is doing. */
export interface PodView {
  name: string;
  uid: string;
  /** Its release (label cutover.release): a release set's pods during an update are of two. */
  release: string | null;
  /** Being deleted (scaled down, evicted, its Deployment gone): no longer an instance. */
  deleting: boolean;
  phase: string;
  ip: string | null;
  node: string | null;
  ready: boolean;
  restarts: number;
  running: boolean;
  /** The container's current state when it has ended (before the kubelet restarts it). */
  terminated: { exitCode: number; reason: string } | null;
  /** The previous run's end, after a restart. */
  lastTerminated: { exitCode: number; reason: string } | null;
  waiting: { reason: string; message: string } | null;
  /** The scheduler's reason when no node fits (PodScheduled False, Unschedulable). */
  unschedulable: string | null;
}

export function podView(pod: V1Pod): PodView {
  const status = pod.status;
  const container = status?.containerStatuses?.find((c) => c.name === CONTAINER_NAME);
  const scheduled = status?.conditions?.find((c) => c.type === 'PodScheduled');
  const terminated = container?.state?.terminated;
  const last = container?.lastState?.terminated;
  return {
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    release: pod.metadata?.labels?.['cutover.release'] ?? null,
    deleting: Boolean(pod.metadata?.deletionTimestamp),
    phase: status?.phase ?? 'Unknown',
    ip: status?.podIP ?? null,
    node: pod.spec?.nodeName ?? null,
    ready: container?.ready === true,
    restarts: container?.restartCount ?? 0,
    running: Boolean(container?.state?.running),
    terminated: terminated ? { exitCode: terminated.exitCode, reason: terminated.reason ?? '' } : null,
    lastTerminated: last ? { exitCode: last.exitCode, reason: last.reason ?? '' } : null,
    waiting: container?.state?.waiting
      ? { reason: container.state.waiting.reason ?? '', message: container.state.waiting.message ?? '' }
      : null,
    unschedulable:
      scheduled?.status === 'False' && scheduled.reason === 'Unschedulable'
        ? (scheduled.message ?? 'no node fits')
        : null,
  };
}

/**
 * Waiting reasons that no wait will cure: the image is missing or cannot be
 * pulled, the container cannot be made. A start gives up at once on them,
 * with the kubelet's message.
 */
const HOPELESS_WAITING = new Set([
  'ErrImageNeverPull',
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** Why a pod that is being started will not run, or null while it may still. */
export function startProblem(view: PodView): string | null {
  if (view.unschedulable) return `it cannot be scheduled: ${view.unschedulable}`;
  if (view.waiting && HOPELESS_WAITING.has(view.waiting.reason))
    return `${view.waiting.reason}: ${view.waiting.message || 'no message'}`;
  if (view.phase === 'Failed') return 'the pod failed';
  return null;
}

/** The end of a run that just stopped: the current state when ended, else the last one after a restart. */
export function exitCodeOf(view: PodView | null): number | null {
  return view?.terminated?.exitCode ?? view?.lastTerminated?.exitCode ?? null;
}
