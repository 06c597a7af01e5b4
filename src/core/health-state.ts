/**
 * The health of one instance as a pure state machine, with Docker HEALTHCHECK
 * semantics: an instance is `starting` until `healthyThreshold` consecutive
 * checks pass; `unhealthyThreshold` consecutive failures make it `unhealthy`;
 * the same thresholds move it back and forth afterwards.
 *
 * The start period gives a slow app time to boot: while it is still
 * `starting` and inside the period, failures do not count. A success inside
 * the period does count, and once the instance has been healthy the start
 * period no longer shields it (as in Docker, where the first success ends it).
 *
 * Liveness (`restartDue`) is a second rule on the same state, with Kubernetes
 * liveness-probe semantics: an instance that stays unhealthy for
 * `restartAfter` more checks in a row is restarted. It is counted from the
 * check that made it unhealthy, so the instance has already left the rotation
 * (readiness) when the restart comes, and a short blip never costs a restart.
 *
 * No I/O and no timers: the monitor passes the time in.
 */
export interface HealthState {
  status: HealthStatus;
  startedAt: number;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  /** Checks observed so far, for messages like "3 checks, none passed". */
  checks: number;
  lastCheckedAt: number | null;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** The part of a service's health config these rules read; config/types.ts HealthConfig extends it. */
export interface HealthThresholds {
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** Failures during the start period do not count (Docker HEALTHCHECK semantics). */
  startPeriodMs: number;
}

export function initialHealth(startedAt: number): HealthState {
  return {
    status: 'starting',
    startedAt,
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
    checks: 0,
    lastCheckedAt: null,
  };
}

export function inStartPeriod(state: HealthState, now: number, config: HealthThresholds): boolean {
  return state.status === 'starting' && now - state.startedAt < config.startPeriodMs;
}

export function observeHealth(
  state: HealthState,
  result: { ok: boolean },
  now: number,
  config: HealthThresholds,
): HealthState {
  const checks = state.checks + 1;
  if (result.ok) {
    const consecutiveSuccesses = state.consecutiveSuccesses + 1;
    const status = consecutiveSuccesses >= Math.max(1, config.healthyThreshold) ? 'healthy' : state.status;
    return { ...state, status, consecutiveSuccesses, consecutiveFailures: 0, checks, lastCheckedAt: now };
  }
  if (inStartPeriod(state, now, config)) {
    return { ...state, consecutiveSuccesses: 0, consecutiveFailures: 0, checks, lastCheckedAt: now };
  }
  const consecutiveFailures = state.consecutiveFailures + 1;
  const status = consecutiveFailures >= Math.max(1, config.unhealthyThreshold) ? 'unhealthy' : state.status;
  return { ...state, status, consecutiveSuccesses: 0, consecutiveFailures, checks, lastCheckedAt: now };
}

/**
 * True when an instance has failed `restartAfter` checks in a row after it
 * turned unhealthy (0 turns the rule off). Failures inside the start period
 * never count, as for `unhealthyThreshold`.
 */
export function restartDue(state: HealthState, config: HealthThresholds & { restartAfter: number }): boolean {
  if (config.restartAfter <= 0 || state.status !== 'unhealthy') return false;
  return state.consecutiveFailures >= Math.max(1, config.unhealthyThreshold) + config.restartAfter;
}
