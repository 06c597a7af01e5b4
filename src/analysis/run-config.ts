import type { AnalysisMetricConfig } from '../config/types.js';
import type { AnalysisRunConfig } from '../core/analysis/analysis-run.js';

/** A metric of a template as the analysis run state machine takes it (`startRun`): conditions absent rather than null. */
export function analysisRunConfig(metric: AnalysisMetricConfig): AnalysisRunConfig {
  return {
    name: metric.name,
    intervalMs: metric.intervalMs,
    count: metric.count,
    initialDelayMs: metric.initialDelayMs,
    ...(metric.successCondition === null ? {} : { successCondition: metric.successCondition }),
    ...(metric.failureCondition === null ? {} : { failureCondition: metric.failureCondition }),
    failureLimit: metric.failureLimit,
    inconclusiveLimit: metric.inconclusiveLimit,
    consecutiveErrorLimit: metric.consecutiveErrorLimit,
  };
}
