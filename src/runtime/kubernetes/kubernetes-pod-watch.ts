import type { RuntimeLogger } from '../process/process-runtime.js';
import { apiMessage } from './kubernetes-client.js';
import type { ManagedPod, Target } from './kubernetes-instance-state.js';
import type { KubernetesObjects } from './kubernetes-objects.js';
import { exitCodeOf, type PodView } from './kubernetes-pods.js';

export interface PodWatchContext {
  objects: KubernetesObjects;
  logger?: RuntimeLogger;
  /** The instances managed now. */
  instances: ReadonlyMap<string, ManagedPod>;
  /** An instance's pod run ended (gone, restarted, its container ended): reported as an exit. */
  ended(managed: ManagedPod, code: number | null): void;
}

/**
 * Looks at the pods of every namespace in use, one list call each, every
 * `pollMs`: readiness, and the exits (a pod gone, a container that ended).
 * Kubernetes has no exit event cutover could wait on without a watch per
 * namespace, and a list every 500 ms is cheap next to the apiserver's own.
 */
export class PodWatch {
  private poller: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private readonly context: PodWatchContext,
    private readonly pollMs: number,
  ) {}

  start(): void {
    if (this.poller) return;
    this.poller = setInterval(() => void this.look(), this.pollMs);
    this.poller.unref();
  }

  stop(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  private async look(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const byTarget = new Map<Target, ManagedPod[]>();
      for (const managed of this.context.instances.values()) {
        const list = byTarget.get(managed.deployment.target) ?? [];
        list.push(managed);
        byTarget.set(managed.deployment.target, list);
      }
      if (byTarget.size === 0) this.stop();
      for (const [target, managedPods] of byTarget) {
        let pods: PodView[];
        try {
          pods = await this.context.objects.ownedPods(target);
        } catch (error) {
          this.context.logger?.warn(
            { namespace: target.namespace, err: error },
            `cannot list pods: ${apiMessage(error)}`,
          );
          continue;
        }
        for (const managed of managedPods)
          this.see(
            managed,
            pods.find((p) => p.uid === managed.podUid),
          );
      }
    } finally {
      this.polling = false;
    }
  }

  private see(managed: ManagedPod, pod: PodView | undefined): void {
    // During a native update Kubernetes replaces the set's pods: the update's end rebinds the instances.
    if (managed.exited || managed.stopRequested || managed.deployment.set?.updating) return;
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
      this.context.ended(managed, exitCodeOf(pod ?? null));
      return;
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
