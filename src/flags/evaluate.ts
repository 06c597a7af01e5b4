import { BUCKET_COUNT, bucketOf } from '../core/sticky-bucket.js';
import { allConstraintsHold, attributeText, segmentProblem } from './constraint-match.js';
import type { EvaluationContext, Flag, JsonValue, Rollout, Segments } from './flag-model.js';
import { formatFlagIssues, safeParseFlag } from './flag-schema.js';

/**
 * Flag evaluation: one pure function, shared by the server, the SDK and the
 * OpenFeature provider, and pinned by test/flags/vectors.json.
 *
 * 1. `enabled: false` → `offVariant`, reason DISABLED (the kill switch beats everything).
 * 2. `rules` in order: the first whose constraints all hold answers. A fixed
 *    `variant` → TARGETING_MATCH; a `rollout` → SPLIT when the user is in it,
 *    otherwise the next rule is tried.
 * 3. The top-level `rollout`: in → SPLIT.
 * 4. `defaultVariant`, reason DEFAULT.
 *
 * Rollouts are sticky. The user's key is the stickiness attribute, read as
 * text (`userId` and `targetingKey` stand in for each other when one is
 * absent); the user is in when `bucketOf(key, flag.key) < round(percentage × 100)`.
 * A bucket never changes, so raising the percentage only adds users. Every
 * rollout of a flag uses the same salt, so its 10 % are the same users
 * whichever rule they reach. A user without the attribute (or with an empty
 * one) is in no rollout. The variant of a weighted split comes from a second
 * bucket, salted `${flag.key}/variant`, so a new percentage never reshuffles
 * the variants of users already in.
 *
 * Errors never throw: reason ERROR, `value` and `variant` null (the SDK or
 * provider answers the caller's default value), an OpenFeature error code and
 * a message.
 */

export type EvaluationReason = 'DISABLED' | 'TARGETING_MATCH' | 'SPLIT' | 'DEFAULT' | 'ERROR';

/** OpenFeature error codes this function can produce. */
export type EvaluationErrorCode = 'PARSE_ERROR' | 'TYPE_MISMATCH' | 'GENERAL';

/** The value types an OpenFeature client asks for; `object` is any JSON object or list. */
export type FlagValueType = 'boolean' | 'string' | 'number' | 'object';

export interface Evaluation {
  value: JsonValue;
  variant: string | null;
  reason: EvaluationReason;
  /** The rule that answered (TARGETING_MATCH, or SPLIT from a rule's rollout). */
  ruleIndex?: number;
  errorCode?: EvaluationErrorCode;
  errorMessage?: string;
}

export interface EvaluateOptions {
  /** The type the caller expects; another type answers ERROR / TYPE_MISMATCH instead of the value. */
  expectedType?: FlagValueType;
}

const NO_SEGMENTS: Segments = Object.freeze({});

export function evaluateFlag(
  flag: Flag,
  context: EvaluationContext,
  segments: Segments = NO_SEGMENTS,
  options: EvaluateOptions = {},
): Evaluation {
  const evaluation = resolve(flag, context, segments);
  if (options.expectedType === undefined || evaluation.reason === 'ERROR') return evaluation;
  const actual = valueType(evaluation.value);
  if (actual === options.expectedType) return evaluation;
  return failure(
    'TYPE_MISMATCH',
    `flag "${flag.key}" variant "${evaluation.variant}" is ${actual ?? 'null'}, not ${options.expectedType}`,
  );
}

/** Evaluates a flag still in its JSON form (as an SDK receives it): an invalid flag answers ERROR / PARSE_ERROR. */
export function evaluateFlagJson(
  input: unknown,
  context: EvaluationContext,
  segments: Segments = NO_SEGMENTS,
  options: EvaluateOptions = {},
): Evaluation {
  const parsed = safeParseFlag(input);
  if (!parsed.ok) return failure('PARSE_ERROR', `invalid flag: ${formatFlagIssues(parsed.issues)}`);
  return evaluateFlag(parsed.value, context, segments, options);
}

function resolve(flag: Flag, context: EvaluationContext, segments: Segments): Evaluation {
  if (!flag.enabled) return answer(flag, flag.offVariant, 'DISABLED');
  const problem = segmentProblem(flag, segments);
  if (problem !== null) return failure('GENERAL', problem);
  for (let index = 0; index < flag.rules.length; index++) {
    const rule = flag.rules[index]!;
    if (!allConstraintsHold(rule.constraints, context, segments)) continue;
    if (rule.variant !== undefined) return { ...answer(flag, rule.variant, 'TARGETING_MATCH'), ruleIndex: index };
    const variant = rolloutVariant(flag.key, rule.rollout, context);
    if (variant !== null) return { ...answer(flag, variant, 'SPLIT'), ruleIndex: index };
  }
  if (flag.rollout !== null) {
    const variant = rolloutVariant(flag.key, flag.rollout, context);
    if (variant !== null) return answer(flag, variant, 'SPLIT');
  }
  return answer(flag, flag.defaultVariant, 'DEFAULT');
}

/** The variant a user gets from a rollout, or null when the user is not in it. */
function rolloutVariant(flagKey: string, rollout: Rollout, context: EvaluationContext): string | null {
  const key = stickinessKey(context, rollout.stickiness);
  if (key === null) return null;
  // Rounded, not `bucket < percentage * 100`: 0.07 * 100 is 7.000000000000001, which would admit bucket 7.
  if (bucketOf(key, flagKey) >= Math.round(rollout.percentage * 100)) return null;
  if (rollout.variant !== undefined) return rollout.variant;
  return weightedVariant(rollout.variants, bucketOf(key, `${flagKey}/variant`));
}

/**
 * Variant `i` owns the buckets whose share `bucket / 10,000` falls in its
 * slice of the total weight. Whole-number arithmetic (bucket × total against
 * cumulative × 10,000) so every SDK draws the same boundaries.
 */
export function weightedVariant(variants: readonly { variant: string; weight: number }[], bucket: number): string {
  let total = 0;
  for (const entry of variants) total += entry.weight;
  const point = bucket * total;
  let cumulative = 0;
  for (const entry of variants) {
    cumulative += entry.weight;
    if (point < cumulative * BUCKET_COUNT) return entry.variant;
  }
  return variants.at(-1)!.variant; // unreachable: bucket < 10,000 puts the point below total × 10,000
}

/** The user's rollout key: the stickiness attribute as text, with `userId` and `targetingKey` as each other's fallback. */
export function stickinessKey(context: EvaluationContext, stickiness: string): string | null {
  const own = attributeText(context[stickiness]);
  if (own !== null && own !== '') return own;
  const alias = stickiness === 'userId' ? 'targetingKey' : stickiness === 'targetingKey' ? 'userId' : null;
  if (alias === null) return null;
  const fallback = attributeText(context[alias]);
  return fallback !== null && fallback !== '' ? fallback : null;
}

function answer(flag: Flag, variant: string, reason: EvaluationReason): Evaluation {
  // The schema guarantees every named variant exists.
  return { value: flag.variants[variant] as JsonValue, variant, reason };
}

function failure(errorCode: EvaluationErrorCode, errorMessage: string): Evaluation {
  return { value: null, variant: null, reason: 'ERROR', errorCode, errorMessage };
}

function valueType(value: JsonValue): FlagValueType | null {
  if (value === null) return null;
  if (typeof value === 'boolean' || typeof value === 'string' || typeof value === 'number')
    return typeof value as FlagValueType;
  return 'object';
}
