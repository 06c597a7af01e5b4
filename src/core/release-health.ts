import type { HealthStatus } from './health-state.js';

/**
 * Whether a new release can still become healthy, judged from its instances'
 * health states (core/health-state.ts `failedThreshold`: the instance answered
 * `unhealthyThreshold` failed checks in a row after its start period). When
 * every instance of the release is there, nothing is left to wait for: waiting
 * for the deploy timeout would only make the person wait (issue 20, item 5).
 * One flapping instance among healthy or starting ones is not this rule, nor
 * an app that has not opened its port yet: the deploy waits until its timeout.
 *
 * Pure: the supervisor passes the instances in.
 */
export interface InstanceHealthView {
  id: string;
  status: HealthStatus;
  failedThreshold: boolean;
  /** The last check's answer ("HTTP 503 (expected 200-399)", "connect ECONNREFUSED"); null before the first check. */
  lastDetail: string | null;
}

/** Longest answer quoted per instance (a command check's output tail can be long). */
export const MAX_ANSWER_CHARS = 160;
/** Instances quoted in a message; the rest are counted. */
export const MAX_QUOTED_INSTANCES = 5;

export function everyInstanceFailed(instances: readonly InstanceHealthView[]): boolean {
  return instances.length > 0 && instances.every((i) => i.failedThreshold);
}

/**
 * "web/web-3/green-0 is unhealthy: HTTP 503 (expected 200-399); web/web-3/green-1 is unhealthy: connect
 * ECONNREFUSED", bounded in length (the status is said, as in HEALTH_TIMEOUT's message, so both read alike).
 */
export function describeLastAnswers(instances: readonly InstanceHealthView[]): string {
  const quoted = instances
    .slice(0, MAX_QUOTED_INSTANCES)
    .map((i) => `${i.id} is ${i.status}: ${clip(i.lastDetail ?? 'no check yet')}`);
  const rest = instances.length - quoted.length;
  return quoted.join('; ') + (rest > 0 ? `; and ${rest} more` : '');
}

/** The message of a deploy failed by the rule above. */
export function failedHealthMessage(
  releaseId: string,
  instances: readonly InstanceHealthView[],
  thresholds: { unhealthyThreshold: number; startPeriodMs: number },
): string {
  const n = Math.max(1, thresholds.unhealthyThreshold);
  const after = thresholds.startPeriodMs > 0 ? ` after the start period (${thresholds.startPeriodMs} ms)` : '';
  const who = instances.length === 1 ? 'its instance' : `all ${instances.length} instances`;
  return (
    `release ${releaseId} cannot become healthy: ${who} failed ${n} health check${n === 1 ? '' : 's'} in a row${after}; ` +
    `last answers: ${describeLastAnswers(instances)}`
  );
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= MAX_ANSWER_CHARS ? line : `${line.slice(0, MAX_ANSWER_CHARS - 1)}…`;
}
