import { z } from 'zod';
import { templateNames } from './analysis-schema.js';
import { onInconclusive } from './canary-schema.js';
import { nonNegativeDuration, positiveDuration, strictMap, wholeNumber } from './schema-fields.js';

/**
 * `strategy: rolling`: the running release's instances are replaced in place,
 * a batch at a time (Docker Swarm's update_config, Kubernetes' RollingUpdate).
 * The batch size is `parallelism`, or, in Kubernetes terms, `max_surge` for
 * start-first and `max_unavailable` for stop-first. Checks across fields
 * (one way of sizing the batch, the one that fits the order, a batch no larger
 * than the service, template references) are in rolling-checks.ts.
 */

export const ROLLING_ORDERS = ['start-first', 'stop-first'] as const;
export const FAILURE_ACTIONS = ['rollback', 'pause', 'continue'] as const;

const RATIO_EXPECTED = 'expected a number from 0 to 1 (the share of instances allowed to fail), like 0.25';
const ratio = z.number({ error: RATIO_EXPECTED }).min(0, { error: RATIO_EXPECTED }).max(1, { error: RATIO_EXPECTED });

export const rollingStrategySchema = strictMap(
  {
    type: z.literal('rolling'),
    parallelism: wholeNumber(1).optional(),
    max_surge: wholeNumber(1).optional(),
    max_unavailable: wholeNumber(1).optional(),
    order: z.enum(ROLLING_ORDERS, { error: 'expected start-first or stop-first' }).optional(),
    delay: nonNegativeDuration.optional(),
    monitor: nonNegativeDuration.optional(),
    failure_action: z.enum(FAILURE_ACTIONS, { error: 'expected rollback, pause or continue' }).optional(),
    max_failure_ratio: ratio.optional(),
    timeout: positiveDuration.optional(),
    analysis: templateNames.optional(),
    on_inconclusive: onInconclusive.optional(),
  },
  'expected a map with type: rolling and its settings, like { type: rolling, parallelism: 2 }',
);

export type RawRollingStrategy = z.output<typeof rollingStrategySchema>;
