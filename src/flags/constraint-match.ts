import type { Constraint, EvaluationContext, Flag, Segments } from './flag-model.js';
import { compareSemver, parseSemver, type SemanticVersion } from './semver-compare.js';

/**
 * Whether one constraint holds for a context. The rules every SDK must follow
 * (test/flags/vectors.json pins each of them):
 *
 * - An attribute is present when it is a string, a finite number or a boolean;
 *   anything else (missing, null, an object, an array) counts as absent.
 * - String and set operators compare text, case-sensitively: a number
 *   attribute reads as its shortest round-trip decimal (`42`, `1.5`), a
 *   boolean as `true`/`false`.
 * - Number operators accept a number, or a string in JSON number syntax
 *   (`"42"`, `"-1.5e3"`); semver operators accept a string that is a strict
 *   semantic version. Any other attribute does not satisfy them.
 * - An absent (or unreadable) attribute satisfies no operator except
 *   `not_in`, which is exactly the negation of `in`.
 * - `inverted` negates the final result, so an inverted constraint on an
 *   absent attribute holds.
 */
export function constraintHolds(constraint: Constraint, context: EvaluationContext, segments: Segments): boolean {
  return constraint.inverted !== operatorHolds(constraint, context, segments);
}

export function allConstraintsHold(
  constraints: readonly Constraint[],
  context: EvaluationContext,
  segments: Segments,
): boolean {
  for (const constraint of constraints) if (!constraintHolds(constraint, context, segments)) return false;
  return true;
}

function operatorHolds(constraint: Constraint, context: EvaluationContext, segments: Segments): boolean {
  if (constraint.operator === 'in_segment') {
    const members = segments[constraint.segment];
    // evaluate.ts refuses a flag whose segments are missing or nested, so `members` is there and flat.
    return members !== undefined && allConstraintsHold(members, context, {});
  }
  const raw = context[constraint.attribute];
  switch (constraint.operator) {
    case 'equals':
      return attributeText(raw) === constraint.value;
    case 'starts_with':
      return attributeText(raw)?.startsWith(constraint.value) ?? false;
    case 'ends_with':
      return attributeText(raw)?.endsWith(constraint.value) ?? false;
    case 'contains':
      return attributeText(raw)?.includes(constraint.value) ?? false;
    case 'in':
    case 'not_in': {
      const text = attributeText(raw);
      const found = text !== null && constraint.values.includes(text);
      return constraint.operator === 'in' ? found : !found;
    }
    case 'num_eq':
    case 'num_lt':
    case 'num_lte':
    case 'num_gt':
    case 'num_gte': {
      const number = attributeNumber(raw);
      if (number === null) return false;
      if (constraint.operator === 'num_eq') return number === constraint.value;
      if (constraint.operator === 'num_lt') return number < constraint.value;
      if (constraint.operator === 'num_lte') return number <= constraint.value;
      if (constraint.operator === 'num_gt') return number > constraint.value;
      return number >= constraint.value;
    }
    case 'semver_eq':
    case 'semver_lt':
    case 'semver_gt': {
      const version = typeof raw === 'string' ? parseSemver(raw) : null;
      const target = semverTarget(constraint.value);
      if (version === null || target === null) return false;
      const order = compareSemver(version, target);
      if (constraint.operator === 'semver_eq') return order === 0;
      return constraint.operator === 'semver_lt' ? order < 0 : order > 0;
    }
  }
}

/** The text string and set operators see, or null when the attribute is absent. */
export function attributeText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return null;
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function attributeNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || !JSON_NUMBER.test(value)) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

/**
 * Why the flag cannot be evaluated against these segments (a segment it names
 * is not defined, or a segment itself uses `in_segment`), or null when it can.
 * Checked for the whole flag before any rule runs, so a broken reference fails
 * every evaluation alike rather than only those that reach its rule.
 */
export function segmentProblem(flag: Flag, segments: Segments): string | null {
  const constraints = flag.rules.flatMap((rule) => rule.constraints);
  for (const constraint of constraints) {
    if (constraint.operator !== 'in_segment') continue;
    const members = Object.hasOwn(segments, constraint.segment) ? segments[constraint.segment] : undefined;
    if (members === undefined) return `flag "${flag.key}" uses segment "${constraint.segment}", which is not defined`;
    if (members.some((member) => member.operator === 'in_segment')) {
      return `segment "${constraint.segment}" uses in_segment; segments cannot be nested`;
    }
  }
  return null;
}

/**
 * The constraint's own version, parsed once: a flag set holds few of them,
 * and parsing on every evaluation made semver rules the SDK's only source of
 * garbage. Bounded, in case flag sets churn through many versions.
 */
const targets = new Map<string, SemanticVersion | null>();
const MAX_TARGETS = 1024;

function semverTarget(text: string): SemanticVersion | null {
  let parsed = targets.get(text);
  if (parsed === undefined) {
    if (targets.size >= MAX_TARGETS) targets.clear();
    parsed = parseSemver(text);
    targets.set(text, parsed);
  }
  return parsed;
}
