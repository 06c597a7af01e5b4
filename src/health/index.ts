import type { HealthConfig } from '../config/types.js';
import type { HealthStatus } from '../core/health-state.js';

/**
 * Health of one instance, driven by active checks. The pure transition rules
 * live in core/health-state.ts, which owns the status type (re-exported here);
 * `health-monitor.ts` runs the timers and the checkers (`http-check.ts`,
 * `tcp-check.ts`, `command-check.ts`).
 */
export type { HealthStatus } from '../core/health-state.js';

export interface CheckTarget {
  instanceId: string;
  host: string;
  port: number;
  /** Exposed to command checks as env: VERSION, SLOT, INSTANCE. */
  vars: { version: string; slot: string; instance: string };
}

export interface CheckResult {
  ok: boolean;
  /** Short human text: "HTTP 200 in 3 ms", "connect ECONNREFUSED", "exit 1: <stderr tail>". */
  detail: string;
  durationMs: number;
  /** No verdict yet (a container HEALTHCHECK still `starting`): not ok, but not counted against a starting instance. */
  pending?: boolean;
  /** false when nothing answered (the connection was refused: the port is not open yet). Default: answered. */
  answered?: boolean;
}

export interface HealthChange {
  instanceId: string;
  from: HealthStatus;
  /** Equal to `from` when only `failedThreshold` turned true (see HealthWatcher.failedThreshold). */
  to: HealthStatus;
  last: CheckResult;
  /** The instance answered `unhealthy_threshold` failed checks in a row after its start period. */
  failedThreshold: boolean;
}

export interface HealthWatcher {
  readonly instanceId: string;
  status(): HealthStatus;
  lastResult(): CheckResult | null;
  /** The instance answered `unhealthy_threshold` failed checks in a row after its start period (core/health-state.ts). */
  failedThreshold(): boolean;
  /** Stops the timers; no callback fires afterwards. */
  stop(): void;
}

export type HealthChangeListener = (change: HealthChange) => void;

export type HealthConfigFor = HealthConfig;
