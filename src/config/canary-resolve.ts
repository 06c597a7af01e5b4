import { CONFIG_DEFAULTS } from './config-defaults.js';
import type { RawCanaryStrategy } from './canary-schema.js';
import type { CanaryMatchRule, CanaryStepConfig, CanaryStrategyConfig, StickinessConfig } from './types.js';

/**
 * A checked `strategy: canary` map → CanaryStrategyConfig. The last step is
 * always weight 100: when the written steps stop short of it, a final
 * `{ weight: 100 }` step is added (as Argo Rollouts promotes fully after the
 * last step), so the controller never has to special-case "steps ran out".
 */
export function resolveCanaryStrategy(raw: RawCanaryStrategy, instances: number): CanaryStrategyConfig {
  const defaults = CONFIG_DEFAULTS.canary;
  return {
    type: 'canary',
    steps: resolveSteps(raw.steps),
    canaryInstances: raw.canary_instances ?? instances,
    stickiness: resolveStickiness(raw.stickiness),
    match: (raw.match ?? []).map(resolveMatchRule),
    analysis: raw.analysis ?? [],
    postPromotion:
      raw.post_promotion === undefined
        ? null
        : {
            windowMs: raw.post_promotion.window ?? defaults.postPromotionWindowMs,
            analysis: raw.post_promotion.analysis ?? [],
          },
    scaleDownDelayMs: raw.scale_down_delay ?? defaults.scaleDownDelayMs,
    deployTimeoutMs: raw.timeout ?? defaults.deployTimeoutMs,
    onRestart: raw.on_restart ?? defaults.onRestart,
    onInconclusive: raw.on_inconclusive ?? CONFIG_DEFAULTS.onInconclusive,
  };
}

function resolveSteps(raw: RawCanaryStrategy['steps']): CanaryStepConfig[] {
  if (raw === undefined) return CONFIG_DEFAULTS.canary.steps.map((step) => ({ ...step, analysis: [...step.analysis] }));
  const steps: CanaryStepConfig[] = raw.map((step) => ({
    weight: step.weight,
    pauseMs: step.pause === undefined ? CONFIG_DEFAULTS.canary.stepPauseMs : step.pause,
    analysis: step.analysis ?? [],
    ...(step.approval ? { approval: true } : {}),
  }));
  if ((steps.at(-1)?.weight ?? 0) < 100) steps.push({ weight: 100, pauseMs: 0, analysis: [] });
  return steps;
}

function resolveStickiness(raw: RawCanaryStrategy['stickiness']): StickinessConfig {
  if (raw === undefined) return { ...CONFIG_DEFAULTS.canary.stickiness };
  switch (raw.by) {
    case 'cookie':
      return { by: 'cookie', name: raw.name ?? CONFIG_DEFAULTS.canary.stickiness.name };
    case 'header':
      return { by: 'header', name: raw.name ?? '' };
    case 'ip':
      return { by: 'ip', name: '' };
  }
}

function resolveMatchRule(raw: NonNullable<RawCanaryStrategy['match']>[number]): CanaryMatchRule {
  return raw.header !== undefined
    ? { header: raw.header, value: raw.value }
    : { cookie: raw.cookie ?? '', value: raw.value };
}
