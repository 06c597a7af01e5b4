import { z } from 'zod';
import { headerName, HTTP_TOKEN, templateNames } from './analysis-schema.js';
import { parseDuration } from './duration.js';
import {
  flag,
  mapWith,
  nonNegativeDuration,
  parsedBy,
  positiveDuration,
  stringish,
  strictMap,
  wholeNumber,
} from './schema-fields.js';

/**
 * `strategy: canary`: the new release takes a growing share of traffic in
 * steps, each held for a pause while its analysis runs. Checks across fields
 * (weights that never decrease, template references, one of header/cookie in
 * a match rule) are in config-checks.ts.
 */

export const PAUSE_EXPECTED =
  'expected a duration like 30s or 5m, or promote (wait for `cutover promote`; also indefinite or {})';

/** A duration in ms, or null for "until `cutover promote`": `promote`, `indefinite` or `{}` (as Argo Rollouts' `pause: {}`). */
const pause = parsedBy((value): { ok: true; value: number | null } | { ok: false; expected: string } => {
  if (value === 'promote' || value === 'indefinite') return { ok: true, value: null };
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
    return { ok: true, value: null };
  if (typeof value !== 'number' && typeof value !== 'string') return { ok: false, expected: PAUSE_EXPECTED };
  const parsed = parseDuration(value, { allowZero: true });
  if (parsed.ok) return { ok: true, value: parsed.ms };
  return {
    ok: false,
    expected: parsed.expected.startsWith('expected a duration like') ? PAUSE_EXPECTED : parsed.expected,
  };
});

const stepSchema = strictMap(
  {
    weight: wholeNumber(0, 100),
    pause: pause.optional(),
    analysis: templateNames.optional(),
    approval: flag.optional(),
  },
  'expected a step map, like { weight: 25, pause: 2m, analysis: [error-rate], approval: true }',
);

const COOKIE_NAME_EXPECTED = 'expected a cookie name (letters, digits, - and _)';
const stickinessSchema = z.preprocess(
  mapWith('by'),
  strictMap(
    {
      by: z.enum(['cookie', 'header', 'ip'], { error: 'expected cookie, header or ip' }),
      name: z.string({ error: COOKIE_NAME_EXPECTED }).regex(HTTP_TOKEN, { error: COOKIE_NAME_EXPECTED }).optional(),
    },
    'expected cookie, header, ip, or a map like { by: header, name: X-User-Id }',
  ),
);

const matchRuleSchema = strictMap(
  {
    header: headerName.optional(),
    cookie: z.string({ error: COOKIE_NAME_EXPECTED }).regex(HTTP_TOKEN, { error: COOKIE_NAME_EXPECTED }).optional(),
    value: stringish('expected the value to match, like always'),
  },
  'expected a match rule, like { header: X-Canary, value: always } or { cookie: canary, value: "1" }',
);

/** What an inconclusive analysis (no data, or neither condition met) does: every strategy that runs analysis has it. */
export const ON_INCONCLUSIVE = ['pause', 'fail', 'continue'] as const;
export const onInconclusive = z.enum(ON_INCONCLUSIVE, { error: 'expected pause, fail or continue' });

export const postPromotionSchema = strictMap(
  {
    window: positiveDuration.optional(),
    analysis: templateNames.optional(),
  },
  'expected a map with window and analysis, like { window: 5m, analysis: [error-rate] }',
);

export const canaryStrategySchema = strictMap(
  {
    type: z.literal('canary'),
    steps: z
      .array(stepSchema, { error: 'expected a list of steps, like [{ weight: 5, pause: 1m }, { weight: 100 }]' })
      .optional(),
    canary_instances: wholeNumber(1).optional(),
    stickiness: stickinessSchema.optional(),
    match: z
      .array(matchRuleSchema, { error: 'expected a list of match rules, like [{ header: X-Canary, value: always }]' })
      .optional(),
    analysis: templateNames.optional(),
    post_promotion: postPromotionSchema.optional(),
    scale_down_delay: nonNegativeDuration.optional(),
    timeout: positiveDuration.optional(),
    on_restart: z.enum(['resume', 'abort'], { error: 'expected resume or abort' }).optional(),
    on_inconclusive: onInconclusive.optional(),
  },
  'expected a map with type: canary and its steps',
);

export type RawCanaryStrategy = z.output<typeof canaryStrategySchema>;
