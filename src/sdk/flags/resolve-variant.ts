import { bucketOf } from '../../core/sticky-bucket.js';
import { allConstraintsHold } from '../../flags/constraint-match.js';
import {
  stickinessKey,
  weightedVariant,
  type EvaluationErrorCode,
  type EvaluationReason,
  type FlagValueType,
} from '../../flags/evaluate.js';
import type { EvaluationContext, JsonValue, Rollout } from '../../flags/flag-model.js';
import type { FlagEntry } from './flag-entry.js';

/**
 * The SDK's evaluation: the same steps as `resolve()` in src/flags/evaluate.ts
 * (kill switch, rules in order, top-level rollout, default), written to
 * allocate nothing, because an application evaluates flags on every request.
 * Where evaluate.ts checks the flag's segments on every call, the SDK has
 * checked them once when the flag arrived (FlagEntry.failure); where it
 * returns a fresh Evaluation, this writes into a Resolution the caller reuses.
 * The shared vectors (test/flags/vectors.json) run through this path in
 * test/sdk/, so the two cannot drift apart unnoticed.
 */

/** The outcome of one evaluation, written in place. */
export interface Resolution {
  /** Null when the evaluation failed (reason ERROR). */
  variant: string | null;
  reason: EvaluationReason;
  /** The rule that answered, or -1. */
  ruleIndex: number;
  errorCode: EvaluationErrorCode | null;
  errorMessage: string | null;
}

export function newResolution(): Resolution {
  return { variant: null, reason: 'DEFAULT', ruleIndex: -1, errorCode: null, errorMessage: null };
}

/** Resolves `entry` for `context` into `out`; returns the variant (null on error). Counts nothing. */
export function resolveVariant(entry: FlagEntry, context: EvaluationContext, out: Resolution): string | null {
  const flag = entry.flag;
  out.ruleIndex = -1;
  out.errorCode = null;
  out.errorMessage = null;
  if (flag !== null && !flag.enabled) return answer(out, flag.offVariant, 'DISABLED');
  if (flag === null || entry.failure !== null) return fail(out, entry.failure!.code, entry.failure!.message);
  const rules = flag.rules;
  for (let index = 0; index < rules.length; index++) {
    const rule = rules[index]!;
    if (!allConstraintsHold(rule.constraints, context, entry.segments)) continue;
    if (rule.variant !== undefined) {
      out.ruleIndex = index;
      return answer(out, rule.variant, 'TARGETING_MATCH');
    }
    const variant = rolloutVariant(entry, rule.rollout, context);
    if (variant !== null) {
      out.ruleIndex = index;
      return answer(out, variant, 'SPLIT');
    }
  }
  if (flag.rollout !== null) {
    const variant = rolloutVariant(entry, flag.rollout, context);
    if (variant !== null) return answer(out, variant, 'SPLIT');
  }
  return answer(out, flag.defaultVariant, 'DEFAULT');
}

/** Turns a successful resolution into TYPE_MISMATCH when the value is not of the type the caller expects. */
export function checkType(entry: FlagEntry, out: Resolution, expectedType: FlagValueType): void {
  if (out.variant === null) return;
  const actual = valueType(entry.flag!.variants[out.variant] as JsonValue);
  if (actual === expectedType) return;
  fail(
    out,
    'TYPE_MISMATCH',
    `flag "${entry.key}" variant "${out.variant}" is ${actual ?? 'null'}, not ${expectedType}`,
  );
  out.ruleIndex = -1;
}

export function valueType(value: JsonValue): FlagValueType | null {
  if (value === null) return null;
  const type = typeof value;
  if (type === 'boolean' || type === 'string' || type === 'number') return type;
  return 'object';
}

/** As evaluate.ts: in when the bucket is below round(percentage × 100); the split's variant from a second, independent bucket. */
function rolloutVariant(entry: FlagEntry, rollout: Rollout, context: EvaluationContext): string | null {
  const key = stickinessKey(context, rollout.stickiness);
  if (key === null) return null;
  if (bucketOf(key, entry.key) >= Math.round(rollout.percentage * 100)) return null;
  if (rollout.variant !== undefined) return rollout.variant;
  return weightedVariant(rollout.variants, bucketOf(key, entry.variantSalt));
}

function answer(out: Resolution, variant: string, reason: EvaluationReason): string {
  out.variant = variant;
  out.reason = reason;
  return variant;
}

function fail(out: Resolution, code: EvaluationErrorCode, message: string): null {
  out.variant = null;
  out.reason = 'ERROR';
  out.errorCode = code;
  out.errorMessage = message;
  return null;
}
