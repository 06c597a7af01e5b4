import type {
  NativeOrchestrator,
  NativeRollingSettings,
  NativeRollingUpdates,
  NativeUpdateProgress,
  NativeUpdateTarget,
} from '../index.js';
import {
  rolloutProgress,
  rolloutSettingsOf,
  type DeploymentView,
  type RolloutPod,
  type RolloutSettings,
} from './kubernetes-rollout.js';

/** The KubernetesRuntime's side of an update (declared here so this file does not import the runtime that builds it). */
export interface KubernetesUpdater {
  /** Puts the release `to` into the template of the set that runs `fromReleaseId`, with the rollout's settings. */
  updateSet(fromReleaseId: string, to: NativeUpdateTarget, rollout: RolloutSettings): Promise<{ name: string }>;
  /** The set's Deployment and its pods (both ReplicaSets'), null when no set runs that release. */
  setStatus(fromReleaseId: string): Promise<{
    deployment: DeploymentView;
    pods: RolloutPod[];
    port: number;
    rollingBack: boolean;
    /** Why the new release's running pods are not Ready (their readiness probe's failures). */
    notReady: string[];
  } | null>;
  /** Puts the template the set had before the update back, as `kubectl rollout undo` does. */
  rollbackSet(fromReleaseId: string): Promise<void>;
  finishSetUpdate(fromReleaseId: string, outcome: 'completed' | 'rolled-back', toReleaseId: string): Promise<void>;
  /** The service's instance count (the set's replicas). */
  instancesOf(service: string): number;
}

/**
 * Kubernetes' own RollingUpdate of a release set's Deployment behind the
 * Runtime port's capability: the strategy becomes the Deployment's rollout
 * settings (kubernetes-rollout.ts), progress is the Deployment's status
 * with the pods of both ReplicaSets (each Ready pod gets traffic), and the
 * "why" of a stalled rollout is read from the new release's pods.
 */
export class KubernetesNativeUpdates implements NativeRollingUpdates {
  readonly orchestrator: NativeOrchestrator = {
    name: 'Kubernetes',
    key: 'kubernetes',
    object: 'Deployment',
    unit: 'pod',
    rolledBackCode: 'KUBERNETES_ROLLED_BACK',
    undoHint: (name) => `Fix it with \`kubectl rollout undo deployment/${name}\` or deploy again.`,
  };
  /** The version each update goes to, to tell the new release's pods from the old. */
  private readonly targets = new Map<string, string>();

  constructor(private readonly runtime: KubernetesUpdater) {}

  async start(
    fromReleaseId: string,
    to: NativeUpdateTarget,
    settings: NativeRollingSettings,
  ): Promise<{ name: string; settings: RolloutSettings }> {
    const rollout = rolloutSettingsFor(settings, this.runtime.instancesOf(to.service));
    this.targets.set(fromReleaseId, to.version);
    const { name } = await this.runtime.updateSet(fromReleaseId, to, rollout);
    return { name, settings: rollout };
  }

  async progress(fromReleaseId: string): Promise<NativeUpdateProgress> {
    const status = await this.runtime.setStatus(fromReleaseId);
    if (!status) return { state: null, message: null, tasks: [], problems: [] };
    const progress = rolloutProgress({ ...status, newVersion: this.targets.get(fromReleaseId) ?? '' });
    return { ...progress, problems: [...progress.problems, ...status.notReady] };
  }

  rollback(fromReleaseId: string): Promise<void> {
    return this.runtime.rollbackSet(fromReleaseId);
  }

  async finish(fromReleaseId: string, outcome: 'completed' | 'rolled-back', toReleaseId: string): Promise<void> {
    this.targets.delete(fromReleaseId);
    await this.runtime.finishSetUpdate(fromReleaseId, outcome, toReleaseId);
  }
}

function rolloutSettingsFor(settings: NativeRollingSettings, instances: number): RolloutSettings {
  return rolloutSettingsOf({ ...settings, deployTimeoutMs: settings.deployTimeoutMs ?? 60_000 }, instances);
}
