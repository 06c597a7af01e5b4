import type { EvaluationErrorCode, EvaluationReason, FlagValueType } from '../../flags/evaluate.js';
import type { EvaluationContext, JsonValue } from '../../flags/flag-model.js';
import type { FlagEntry } from './flag-entry.js';
import { checkType, newResolution, resolveVariant, valueType, type Resolution } from './resolve-variant.js';

/**
 * The three ways the client answers, each counting the evaluation once (by
 * the variant it answered, or as failed). isEnabled and getValue build no
 * object at all, errors included: they only read the reused Resolution.
 */

/** The SDK adds FLAG_NOT_FOUND to the evaluation's error codes: the pure evaluation never sees a missing flag. */
export type SdkErrorCode = EvaluationErrorCode | 'FLAG_NOT_FOUND';

export interface FlagEvaluation {
  value: JsonValue;
  variant: string | null;
  reason: EvaluationReason;
  ruleIndex?: number;
  errorCode?: SdkErrorCode;
  errorMessage?: string;
}

export interface EvaluateOptions {
  /** Another type answers ERROR / TYPE_MISMATCH instead of the value. */
  expectedType?: FlagValueType;
}

export class FlagEvaluator {
  /** Reused by every evaluation: evaluation is synchronous, so one scratch object serves all. */
  private readonly resolution: Resolution = newResolution();

  isEnabled(entry: FlagEntry, context: EvaluationContext): boolean {
    const variant = resolveVariant(entry, context, this.resolution);
    if (variant === null) {
      entry.tally.countFailure();
      return false;
    }
    entry.tally.countVariant(variant);
    return variant !== entry.flag!.offVariant;
  }

  getValue<T extends JsonValue>(entry: FlagEntry, defaultValue: T, context: EvaluationContext): T {
    const out = this.resolution;
    resolveVariant(entry, context, out);
    const expected = valueType(defaultValue);
    if (expected !== null) checkType(entry, out, expected);
    if (out.variant === null) {
      entry.tally.countFailure();
      return defaultValue;
    }
    entry.tally.countVariant(out.variant);
    return entry.flag!.variants[out.variant] as T;
  }

  evaluate(entry: FlagEntry, context: EvaluationContext, options: EvaluateOptions): FlagEvaluation {
    const out = this.resolution;
    resolveVariant(entry, context, out);
    if (options.expectedType !== undefined) checkType(entry, out, options.expectedType);
    if (out.variant === null) {
      entry.tally.countFailure();
      return {
        value: null,
        variant: null,
        reason: 'ERROR',
        errorCode: out.errorCode!,
        errorMessage: out.errorMessage!,
      };
    }
    entry.tally.countVariant(out.variant);
    const value = entry.flag!.variants[out.variant] as JsonValue;
    return out.ruleIndex < 0
      ? { value, variant: out.variant, reason: out.reason }
      : { value, variant: out.variant, reason: out.reason, ruleIndex: out.ruleIndex };
  }
}
