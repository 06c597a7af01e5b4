/** The pure flag model and its evaluation: no I/O, safe to bundle into an SDK. */
export * from './flag-model.js';
export {
  constraintSchema,
  flagSchema,
  formatFlagIssues,
  parseFlag,
  parseSegments,
  rolloutSchema,
  safeParseFlag,
  safeParseSegments,
  segmentsSchema,
} from './flag-schema.js';
export type { FlagIssue, FlagParseResult } from './flag-schema.js';
export { evaluateFlag, evaluateFlagJson, stickinessKey, weightedVariant } from './evaluate.js';
export type { EvaluateOptions, Evaluation, EvaluationErrorCode, EvaluationReason, FlagValueType } from './evaluate.js';
export { compareSemver, parseSemver } from './semver-compare.js';
export type { SemanticVersion } from './semver-compare.js';
