import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { isRolloutPercentage } from './flag-model.js';

/**
 * Bodies of the flag routes. The flag itself is checked by the flag schema
 * (src/flags/flag-schema.ts) in the service, which lists every problem with
 * its path; these only check the envelope around it.
 */
const actor = z.string().min(1).max(200).optional();
const reason = z.string().max(2000).optional();
const ifVersion = z.number().int().min(0).optional();

export const createFlagBody = z.strictObject({ flag: z.unknown(), actor, reason });
export const replaceFlagBody = z.strictObject({ flag: z.unknown(), ifVersion, actor, reason });
export const patchFlagBody = z.strictObject({ patch: z.unknown(), ifVersion, actor, reason });
export const deleteFlagBody = z.strictObject({ ifVersion, actor, reason });
export const evaluateBody = z.strictObject({
  context: z.record(z.string(), z.unknown()).default({}),
  expectedType: z.enum(['boolean', 'string', 'number', 'object']).optional(),
});
export const evaluateAllBody = z.strictObject({ context: z.record(z.string(), z.unknown()).default({}) });
export const segmentBody = z.strictObject({ constraints: z.unknown(), actor });

export const evaluationReportBody = z.strictObject({
  sdk: z.string().max(200).optional(),
  counts: z
    .array(
      z.strictObject({
        flag: z.string().min(1).max(200),
        variant: z.string().max(200).nullable(),
        count: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      }),
    )
    .max(10_000, { error: 'expected at most 10,000 counts in one report; report more often' }),
});

const STEP_EXPECTED = 'expected increasing percentages above 0 and at most 100, like [10, 50, 100]';
/** A duration (`30s`, `5m`) or a number of milliseconds (YAML durations read bare numbers as seconds; JSON clients expect ms). */
const pause = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const parsed = parseDuration(typeof value === 'number' ? `${value}ms` : value, { allowZero: true });
  if (parsed.ok) return parsed.ms;
  ctx.addIssue({ code: 'custom', message: `${parsed.expected}, got ${JSON.stringify(value)}` });
  return z.NEVER;
});

export const startRolloutBody = z.strictObject({
  steps: z
    .array(z.number().gt(0).max(100), { error: STEP_EXPECTED })
    .min(1, { error: STEP_EXPECTED })
    .refine((steps) => steps.every((step, i) => i === 0 || step > steps[i - 1]!), { error: STEP_EXPECTED })
    .refine((steps) => steps.every(isRolloutPercentage), { error: 'expected percentages in steps of 0.01' }),
  pause,
  analysis: z.array(z.string().min(1)).default([]),
  service: z.string().min(1).optional(),
  variant: z.string().min(1).optional(),
  actor,
});

export type StartRolloutBody = z.infer<typeof startRolloutBody>;

const variantName = z.string().min(1).max(200);
/** What a scheduled change does: exactly one of these (scheduled-action.ts). */
export const scheduledActionBody = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('percent'),
    percentage: z.number().refine(isRolloutPercentage, { error: 'expected 0 to 100 in steps of 0.01' }),
    variant: variantName.optional(),
  }),
  z.strictObject({ type: z.literal('enable') }),
  z.strictObject({ type: z.literal('disable') }),
  z.strictObject({ type: z.literal('variant'), variant: variantName }),
]);

export const scheduleBody = z.strictObject({
  /** An ISO 8601 time with its offset (`2026-03-01T09:00:00Z`) or ms since the epoch. */
  at: z.union([z.number().int(), z.string().max(64)]).transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : isoWithOffset(value) ? Date.parse(value) : Number.NaN;
    if (Number.isFinite(ms)) return ms;
    ctx.addIssue({
      code: 'custom',
      message: `expected a time like 2026-03-01T09:00:00Z (with its offset) or ms since the epoch, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }),
  action: scheduledActionBody,
  actor,
});

export const cancelScheduleBody = z.strictObject({ actor }).default({});
export const decisionBody = z.strictObject({ actor, reason }).default({});

/** A time without an offset would be read in the server's zone, which the person scheduling may not know. */
function isoWithOffset(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
}
