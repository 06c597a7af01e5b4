import type { ServiceConfig } from '../config/types.js';
import type { CanaryState } from '../core/canary-strategy.js';
import { CutoverError } from '../core/errors.js';
import type { Slot } from '../core/slot.js';
import type { OperationRecord, ReleaseRecord } from '../store/records.js';

export interface DeployRequest {
  version: string;
  slot?: Slot | 'auto';
  autoSwitch?: boolean;
  autoCleanup?: boolean;
  skipHealth?: boolean;
  actor: string;
}

/** A deploy the controller has locked and created the release of, handed to its strategy. */
export interface DeployStart {
  service: ServiceConfig;
  request: DeployRequest;
  operationId: string;
  release: ReleaseRecord;
  /** The release serving now, if any. */
  active: ReleaseRecord | null;
  now: number;
}

/** Where a running deploy stands, for `cutover status`. */
export interface RunProgress {
  phase: string;
  /** A canary rollout's weight and step. */
  canary?: CanaryState;
  /** When a post-promotion window open now ends by itself (epoch ms). */
  windowEndsAt?: number | null;
}

/**
 * One strategy's deploys (Argo Rollouts' reconcilers, one per strategy): the
 * controller picks the runner once per service from the registry and hands
 * it every command for that service. A command that does not apply to the
 * strategy throws INVALID_STATE with a message that says what does.
 */
export interface StrategyRunner {
  /** Rejects a request this strategy cannot honour, before the deploy lock is taken. */
  check?(service: ServiceConfig, request: DeployRequest): void;
  /** Starts the deploy in the background; returns its operation at once. */
  deploy(start: DeployStart): OperationRecord;
  /** True while a deploy of `service` by this runner is in flight. */
  isRunning(service: string): boolean;
  progress(service: string): RunProgress | null;
  promote(service: string, actor: string, full: boolean): Promise<OperationRecord>;
  approve(service: string, actor: string): Promise<OperationRecord>;
  pause(service: string, actor: string): Promise<OperationRecord>;
  resume(service: string, actor: string): Promise<OperationRecord>;
  /**
   * Before traffic moved: stops the deploy, traffic stays. After (a post-promotion
   * window): rolls back to the previous release, saying so before it acts.
   */
  abort(service: string, actor: string): Promise<OperationRecord>;
  /** Ends a post-promotion window now, keeping the new release (`cutover finish`). */
  finishWindow(service: string, actor: string): Promise<OperationRecord>;
  /** A restarted instance of `releaseId` has a new port: true when this runner re-routed it. */
  refresh(releaseId: string): boolean;
  close(): Promise<void>;
}

/** The answers of a runner to the commands its strategy has no use for. */
export const notApplicable = {
  promote(service: string): Promise<never> {
    return Promise.reject(new CutoverError('INVALID_STATE', `no deploy of ${service} is waiting for promote`));
  },
  approve(service: string): Promise<never> {
    return Promise.reject(
      new CutoverError('INVALID_STATE', `nothing of ${service} waits for an approval`, {
        hint: `Run \`cutover status ${service}\`; approval gates are set with approval: true on a blue-green strategy or a canary step.`,
      }),
    );
  },
  finish(service: string): Promise<never> {
    return Promise.reject(
      new CutoverError('INVALID_STATE', `no post-promotion window of ${service} is open; finish ends one`, {
        hint: `Run \`cutover status ${service}\`; finish keeps a release whose post_promotion window is still running.`,
      }),
    );
  },
  /** pause and resume belong to canary rollouts (and resume to a paused rolling update). */
  pauseOrResume(service: string, verb: 'pause' | 'resume'): Promise<never> {
    return Promise.reject(
      new CutoverError('INVALID_STATE', `no canary of ${service} is running; ${verb} applies to canary rollouts`),
    );
  },
};
