import { CONFIG_DEFAULTS } from './config-defaults.js';
import type { RawRollingStrategy } from './rolling-schema.js';
import type { RollingStrategyConfig } from './types.js';

/**
 * A checked `strategy: rolling` map → RollingStrategyConfig. `max_surge`
 * (start-first) and `max_unavailable` (stop-first) are other names for the
 * batch size: the checks let through at most one way of setting it, the one
 * that fits the order, so it resolves to a single `parallelism`.
 */
export function resolveRollingStrategy(raw: RawRollingStrategy): RollingStrategyConfig {
  const defaults = CONFIG_DEFAULTS.rolling;
  const order = raw.order ?? defaults.order;
  const batchByOrder = order === 'start-first' ? raw.max_surge : raw.max_unavailable;
  return {
    type: 'rolling',
    parallelism: raw.parallelism ?? batchByOrder ?? defaults.parallelism,
    order,
    delayMs: raw.delay ?? defaults.delayMs,
    monitorMs: raw.monitor ?? defaults.monitorMs,
    failureAction: raw.failure_action ?? defaults.failureAction,
    maxFailureRatio: raw.max_failure_ratio ?? defaults.maxFailureRatio,
    deployTimeoutMs: raw.timeout ?? defaults.deployTimeoutMs,
    analysis: raw.analysis ?? [],
    onInconclusive: raw.on_inconclusive ?? CONFIG_DEFAULTS.onInconclusive,
  };
}
