import type { InstanceInfo } from '../index.js';
import type { LogCopy } from '../docker/container-logs.js';
import type { KubernetesClient } from './kubernetes-client.js';

/** Where an instance's Deployment lives. */
export interface Target {
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
export interface KnownDeployment {
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

/** An instance cutover manages: the pod it is bound to and what was last seen of it. */
export interface ManagedPod {
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

/**
 * What the runtime knows, shared with the parts that adopt, update and
 * remove: the Deployment of each instance id, the release sets by the
 * release their template runs (the promise is shared by the starts that
 * create one), and the instances managed.
 */
export interface KubernetesInstances {
  readonly deployments: Map<string, KnownDeployment>;
  readonly sets: Map<string, Promise<KnownDeployment>>;
  readonly instances: Map<string, ManagedPod>;
}

export function newSet(spec: { service: string; releaseId: string; slot: string }, replicas: number): ReleaseSet {
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

/** Whether a Deployment of that UID is one the runtime manages now. */
export function managesUid(state: KubernetesInstances, uid: string | undefined): boolean {
  return [...state.deployments.values()].some((known) => known.uid === uid);
}
