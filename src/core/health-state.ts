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
 * A check that cannot judge yet (`pending`: a container whose own
 * HEALTHCHECK still says `starting`) is treated like a failure inside the
 * start period: it keeps the instance out of rotation but does not count
 * towards `unhealthyThreshold` until the instance has been healthy once —
 * the image's own start period is not a verdict.
 *
 * No I/O and no timers: the monitor passes the time in.
 */
export interface HealthState {
  status: HealthStatus;
  startedAt: number;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  /**
   * Of those, the failed checks in a row the app answered (a bad status, a failing command, a timeout):
   * a refused connection (nothing listens on the port yet) breaks the run, it is an app still starting.
   */
  answeredFailures: number;
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
    answeredFailures: 0,
    checks: 0,
    lastCheckedAt: null,
  };
}

export function inStartPeriod(state: HealthState, now: number, config: HealthThresholds): boolean {
  return state.status === 'starting' && now - state.startedAt < config.startPeriodMs;
}

export function observeHealth(
  state: HealthState,
  result: { ok: boolean; pending?: boolean; answered?: boolean },
  now: number,
  config: HealthThresholds,
): HealthState {
  const checks = state.checks + 1;
  if (result.ok) {
    const consecutiveSuccesses = state.consecutiveSuccesses + 1;
    const status = consecutiveSuccesses >= Math.max(1, config.healthyThreshold) ? 'healthy' : state.status;
    return {
      ...state,
      status,
      consecutiveSuccesses,
      consecutiveFailures: 0,
      answeredFailures: 0,
      checks,
      lastCheckedAt: now,
    };
  }
  if (inStartPeriod(state, now, config) || (result.pending === true && state.status === 'starting')) {
    return {
      ...state,
      consecutiveSuccesses: 0,
      consecutiveFailures: 0,
      answeredFailures: 0,
      checks,
      lastCheckedAt: now,
    };
  }
  const consecutiveFailures = state.consecutiveFailures + 1;
  const answeredFailures = result.answered === false ? 0 : state.answeredFailures + 1;
  const status = consecutiveFailures >= Math.max(1, config.unhealthyThreshold) ? 'unhealthy' : state.status;
  return {
    ...state,
    status,
    consecutiveSuccesses: 0,
    consecutiveFailures,
    answeredFailures,
    checks,
    lastCheckedAt: now,
  };
}

/**
 * True when the instance answered `unhealthyThreshold` failed checks in a row
 * after its start period: it runs, it answers, and it says it is not well. A
 * deploy waiting for a release whose every instance is in this state has
 * nothing left to wait for (core/release-health.ts). A refused connection does
 * not count: a slow app that has not opened its port yet is still starting
 * (the deploy timeout bounds that wait).
 */
export function failedThreshold(state: HealthState, config: HealthThresholds): boolean {
  return state.status === 'unhealthy' && state.answeredFailures >= Math.max(1, config.unhealthyThreshold);
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
