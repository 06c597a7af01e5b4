import { systemClock } from '../clock/system-clock.js';
import type { HealthConfig } from '../config/types.js';
import type { Clock, ClockTimer } from '../core/clock.js';
import { failedThreshold, initialHealth, observeHealth, restartDue, type HealthState } from '../core/health-state.js';
import { commandCheck } from './command-check.js';
import { grpcCheck } from './grpc-check.js';
import { httpCheck } from './http-check.js';
import type { CheckResult, CheckTarget, HealthChange, HealthStatus, HealthWatcher } from './index.js';
import { tcpCheck } from './tcp-check.js';

/** Judges an instance once (the configured check by default; a fake runtime's verdict in logic tests). Never throws. */
export type HealthProbe = (target: CheckTarget, config: HealthConfig) => Promise<CheckResult>;

/** Runs the configured kind of check once. Never throws. */
export function runHealthCheck(target: CheckTarget, config: HealthConfig): Promise<CheckResult> {
  const check = config.check;
  switch (check.type) {
    case 'http':
      return httpCheck(target, { check, timeoutMs: config.timeoutMs });
    case 'tcp':
      return tcpCheck(target, { timeoutMs: config.timeoutMs });
    case 'command':
      return commandCheck(target, { check, timeoutMs: config.timeoutMs });
    case 'grpc':
      return grpcCheck(target, { check, timeoutMs: config.timeoutMs });
  }
}

/**
 * Checks one instance for as long as it lives: right away, then every
 * `intervalMs` after the previous check finished (checks never overlap, so a
 * slow instance is not buried under a pile of concurrent probes). Each result
 * goes through the pure rules in core/health-state.ts and `onChange` fires on
 * every status change — including healthy → unhealthy → healthy after a
 * deploy, which is how a sick instance leaves and rejoins the rotation — and
 * when `failedThreshold` turns true without one: an app that refused the
 * first checks (still booting) turns unhealthy before it has answered enough
 * failed checks, and the one that completes them changes no status, yet a
 * deploy waiting on it has then nothing left to wait for.
 * `onRestartDue` fires after each check once the liveness rule says the
 * instance should be restarted (`health.restart_after`); the owner restarts
 * it and stops this watcher.
 */
export function watchHealth(
  target: CheckTarget,
  config: HealthConfig,
  onChange: (change: HealthChange) => void,
  /** The clock of the check interval (or only its `now`, the rest from the system clock). */
  time: Clock | (() => number) = systemClock,
  /**
   * A second opinion on a check (the container's own HEALTHCHECK): it may turn a pass into a failure,
   * and add the orchestrator's reason to a failure's detail.
   */
  confirm?: (result: CheckResult) => Promise<CheckResult>,
  onRestartDue?: (last: CheckResult) => void,
  probe: HealthProbe = runHealthCheck,
): HealthWatcher {
  const clock: Clock = typeof time === 'function' ? { ...systemClock, now: time } : time;
  const now = (): number => clock.now();
  let state: HealthState = initialHealth(now());
  let last: CheckResult | null = null;
  let stopped = false;
  let timer: ClockTimer | undefined;

  const tick = async (): Promise<void> => {
    timer = undefined;
    const startedAt = now();
    const checked = await probe(target, config);
    const result = confirm ? await confirm(checked).catch(() => checked) : checked;
    if (stopped) return;
    last = result;
    const from: HealthStatus = state.status;
    const failedBefore = failedThreshold(state, config);
    state = observeHealth(state, result, now(), config);
    const failed = failedThreshold(state, config);
    // Schedule before notifying: a listener that throws must not stop the checks.
    const wait = Math.max(0, config.intervalMs - (now() - startedAt));
    timer = clock.schedule(() => void tick(), wait);
    if (state.status !== from || (failed && !failedBefore))
      onChange({ instanceId: target.instanceId, from, to: state.status, last: result, failedThreshold: failed });
    if (onRestartDue && !stopped && restartDue(state, config)) onRestartDue(result);
  };
  void tick();

  return {
    instanceId: target.instanceId,
    status: () => state.status,
    lastResult: () => last,
    failedThreshold: () => failedThreshold(state, config),
    stop: () => {
      stopped = true;
      timer?.cancel();
      timer = undefined;
    },
  };
}
