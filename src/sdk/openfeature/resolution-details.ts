import {
  ErrorCode,
  StandardResolutionReasons,
  type FlagMetadata,
  type JsonValue,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import type { FlagEvaluation, SdkErrorCode } from '../flags/flag-evaluator.js';

/**
 * A cutover evaluation as OpenFeature presents it. The reasons are the same
 * words (DISABLED, TARGETING_MATCH, SPLIT, DEFAULT, ERROR); the error codes
 * are OpenFeature's. On error the caller's default is the value and there is
 * no variant, as the OpenFeature spec asks of a provider.
 */

const ERROR_CODES: Record<SdkErrorCode, ErrorCode> = {
  FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
  PARSE_ERROR: ErrorCode.PARSE_ERROR,
  GENERAL: ErrorCode.GENERAL,
};

const REASONS = {
  DISABLED: StandardResolutionReasons.DISABLED,
  TARGETING_MATCH: StandardResolutionReasons.TARGETING_MATCH,
  SPLIT: StandardResolutionReasons.SPLIT,
  DEFAULT: StandardResolutionReasons.DEFAULT,
  ERROR: StandardResolutionReasons.ERROR,
} as const;

export function toResolutionDetails<T extends JsonValue>(
  evaluation: FlagEvaluation,
  defaultValue: T,
): ResolutionDetails<T> {
  if (evaluation.reason === 'ERROR') {
    return {
      value: defaultValue,
      reason: REASONS.ERROR,
      errorCode: ERROR_CODES[evaluation.errorCode ?? 'GENERAL'],
      ...(evaluation.errorMessage === undefined ? {} : { errorMessage: evaluation.errorMessage }),
    };
  }
  const details: ResolutionDetails<T> = { value: evaluation.value as T, reason: REASONS[evaluation.reason] };
  if (evaluation.variant !== null) details.variant = evaluation.variant;
  if (evaluation.ruleIndex !== undefined)
    details.flagMetadata = { ruleIndex: evaluation.ruleIndex } satisfies FlagMetadata;
  return details;
}
