import { setTimeout as sleep } from 'node:timers/promises';
import { CutoverError } from '../../core/errors.js';
import { apiMessage } from './kubernetes-client.js';
import type { KnownDeployment } from './kubernetes-instance-state.js';
import { START_POLL_MS, type KubernetesObjects } from './kubernetes-objects.js';
import { exitCodeOf, startProblem, type PodView } from './kubernetes-pods.js';
import { withLogTail } from '../../core/log-tail-message.js';

/** A new pod needs scheduling, a sandbox and its container: seconds on a loaded node. */
const POD_START_TIMEOUT_MS = 120_000;

export interface PodStartContext {
  objects: KubernetesObjects;
  /** True once the start should end: the runtime closes, the instance was stopped meanwhile, its set goes. */
  abandoned(id: string, known: KnownDeployment): boolean;
  tailLog(instanceId: string, lines: number): Promise<string>;
}

/**
 * The running pod of an instance's Deployment, not the run that ended (a
 * start after a crash). A pod that cannot run (no image, no node fits, a
 * container that exits at once) fails the start with the kubelet's or the
 * scheduler's reason and its last log lines; a pod waiting in
 * CrashLoopBackOff after a crash is deleted, so its replacement starts now
 * rather than after the kubelet's back-off (the supervisor has its own).
 */
export async function waitForPod(context: PodStartContext, known: KnownDeployment, id: string): Promise<PodView> {
  const deadline = Date.now() + POD_START_TIMEOUT_MS;
  let last = 'no pod yet';
  const set = known.set;
  for (;;) {
    if (context.abandoned(id, known))
      throw new CutoverError('INSTANCE_START_FAILED', `Cannot start ${id}: it was stopped during the start.`);
    let pods: PodView[] = [];
    try {
      pods = await context.objects.podsOf(known);
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
        const tail = errorExcerpt(await context.tailLog(id, 40).catch(() => ''));
        throw new CutoverError(
          'INSTANCE_START_FAILED',
          withLogTail(
            `Cannot start ${id}: pod ${pod.name} of Deployment ${known.name} ${problem ?? `exited with code ${exitCodeOf(pod) ?? '?'}`}`,
            tail,
          ),
          {
            hint: 'Check image, command and resources in the service config (`kubectl describe pod` shows the same); traffic was not moved.',
          },
        );
      }
      if (dead && pod.uid === dead.uid && pod.waiting?.reason === 'CrashLoopBackOff')
        await context.objects.deletePod(known.target, pod.name, 0);
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
