/**
 * The flag model: what a feature flag is, as the server stores it and every
 * SDK evaluates it. Pure types; the schema that checks raw JSON into these
 * types is in flag-schema.ts, the evaluation in evaluate.ts.
 *
 * Evaluation order (evaluate.ts): the kill switch (`enabled: false` → the
 * `offVariant`), then `rules` in order (first match wins), then the top-level
 * `rollout`, then the `defaultVariant`.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Compare the attribute's text with one string (case-sensitive). */
export const STRING_OPERATORS = ['equals', 'starts_with', 'ends_with', 'contains'] as const;
/** The attribute's text is (not) one of `values`. */
export const SET_OPERATORS = ['in', 'not_in'] as const;
/** The attribute read as a number (a number, or a string in JSON number syntax). */
export const NUMBER_OPERATORS = ['num_eq', 'num_lt', 'num_lte', 'num_gt', 'num_gte'] as const;
/** The attribute read as a semantic version (semver.org 2.0.0; build metadata ignored). */
export const SEMVER_OPERATORS = ['semver_eq', 'semver_lt', 'semver_gt'] as const;

export type StringOperator = (typeof STRING_OPERATORS)[number];
export type SetOperator = (typeof SET_OPERATORS)[number];
export type NumberOperator = (typeof NUMBER_OPERATORS)[number];
export type SemverOperator = (typeof SEMVER_OPERATORS)[number];

/**
 * One condition on the evaluation context. `inverted` negates the result,
 * whatever it was, a missing attribute included (see constraint-match.ts).
 */
export type Constraint =
  | { operator: StringOperator; attribute: string; value: string; inverted: boolean }
  | { operator: SetOperator; attribute: string; values: string[]; inverted: boolean }
  | { operator: NumberOperator; attribute: string; value: number; inverted: boolean }
  | { operator: SemverOperator; attribute: string; value: string; inverted: boolean }
  | { operator: 'in_segment'; segment: string; inverted: boolean };

export type ConstraintOperator = Constraint['operator'];

/** Named constraint lists shared by flags: `in_segment` holds when every constraint of the segment holds. */
export type Segments = Readonly<Record<string, readonly Constraint[]>>;

export interface WeightedVariant {
  variant: string;
  /** A whole number; a variant's share is its weight over the sum of the weights. */
  weight: number;
}

/**
 * A sticky percentage of the users. In the rollout: `variant`, or one of
 * `variants` picked by weight with a second bucket independent of the first.
 */
export type Rollout = {
  /** 0 to 100 in steps of 0.01 (the bucket resolution). */
  percentage: number;
  /** The context attribute that identifies a user; `userId` and `targetingKey` stand in for each other. */
  stickiness: string;
} & ({ variant: string; variants?: undefined } | { variants: WeightedVariant[]; variant?: undefined });

/** Constraints that must all hold (an empty list always holds), then a fixed variant or a rollout. */
export type Rule = {
  name?: string;
  constraints: Constraint[];
} & ({ variant: string; rollout?: undefined } | { rollout: Rollout; variant?: undefined });

export interface Flag {
  /** Letters, digits, `.`, `_` and `-`: the key is the rollout salt, and `/` is reserved for derived salts. */
  key: string;
  description: string;
  /** The kill switch: when false every evaluation answers `offVariant`, whatever the rules say. */
  enabled: boolean;
  variants: Record<string, JsonValue>;
  defaultVariant: string;
  offVariant: string;
  rules: Rule[];
  rollout: Rollout | null;
  /**
   * May a client-side token (a browser's, a phone's) evaluate it over OFREP?
   * Absent means no: a flag is server-only until someone says otherwise.
   */
  clientVisible?: boolean;
}

/** Attributes of the one evaluation: `userId`, `targetingKey`, `country`, `appVersion`, ... */
export type EvaluationContext = Readonly<Record<string, unknown>>;

/**
 * A rollout percentage: 0 to 100 in steps of 0.01, the resolution of the
 * 10,000 sticky buckets. Anything finer would be rounded silently, so every
 * place that takes a percentage (the flag schema, the seeds' enabled_for,
 * rollout steps, the CLI) refuses it with this one rule.
 */
export function isRolloutPercentage(value: number): boolean {
  return Number.isFinite(value) && value >= 0 && value <= 100 && Math.abs(value * 100 - Math.round(value * 100)) < 1e-6;
}

/** The stickiness attribute used when a rollout names none. */
export const DEFAULT_STICKINESS = 'userId';
