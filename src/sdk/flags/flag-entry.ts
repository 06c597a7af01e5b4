import { segmentProblem } from '../../flags/constraint-match.js';
import type { EvaluationErrorCode } from '../../flags/evaluate.js';
import type { Flag, Segments } from '../../flags/flag-model.js';
import { formatFlagIssues, safeParseFlag } from '../../flags/flag-schema.js';
import type { VariantTally } from './variant-tally.js';

/**
 * One flag as the SDK holds it: parsed once when it arrives, with everything
 * an evaluation would otherwise recompute (the segment check, the salt of the
 * weighted split) worked out up front, so evaluating it allocates nothing.
 */

/** Why every (enabled) evaluation of a flag fails, decided when the flag or the segments arrive. */
export interface FlagFailure {
  code: EvaluationErrorCode;
  message: string;
}

export interface FlagEntry {
  key: string;
  /** Null when the flag could not be parsed (written by a newer server): it answers PARSE_ERROR. */
  flag: Flag | null;
  /** The segments of the set the flag was checked against. */
  segments: Segments;
  /**
   * Set when the flag cannot be evaluated: a parse error (always), or a
   * segment it names that is missing or broken (only while the flag is
   * enabled: the kill switch beats a broken reference, as in evaluate.ts).
   */
  failure: FlagFailure | null;
  /** `${key}/variant`: the salt of the second bucket of a weighted split, built once rather than per evaluation. */
  variantSalt: string;
  tally: VariantTally;
  /** The JSON the server sent, kept for the disk cache and to tell which flags a new snapshot changed. */
  raw: unknown;
  rawText: string;
}

/** The key a raw flag names, or null when it names none (such a flag cannot be addressed, so it is dropped). */
export function rawFlagKey(raw: unknown): string | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const key = (raw as { key?: unknown }).key;
  return typeof key === 'string' && key !== '' ? key : null;
}

export function buildEntry(
  key: string,
  raw: unknown,
  segments: Segments,
  brokenSegments: ReadonlyMap<string, string>,
  tally: VariantTally,
  rawText = JSON.stringify(raw),
): FlagEntry {
  const parsed = safeParseFlag(raw);
  if (!parsed.ok) {
    const failure: FlagFailure = {
      code: 'PARSE_ERROR',
      message: `flag "${key}" cannot be read by this SDK: ${formatFlagIssues(parsed.issues)}`,
    };
    return { key, flag: null, segments, failure, variantSalt: `${key}/variant`, tally, raw, rawText };
  }
  // getValue hands variant values to the application by reference: frozen, a caller cannot change the set for everyone.
  deepFreeze(parsed.value.variants);
  return withSegments(
    { key, flag: parsed.value, segments, failure: null, variantSalt: `${key}/variant`, tally, raw, rawText },
    segments,
    brokenSegments,
  );
}

/** The same flag checked against other segments (no re-parse). */
export function withSegments(
  entry: FlagEntry,
  segments: Segments,
  brokenSegments: ReadonlyMap<string, string>,
): FlagEntry {
  if (entry.flag === null) return { ...entry, segments };
  return { ...entry, segments, failure: segmentFailure(entry.flag, segments, brokenSegments) };
}

function segmentFailure(
  flag: Flag,
  segments: Segments,
  brokenSegments: ReadonlyMap<string, string>,
): FlagFailure | null {
  for (const rule of flag.rules) {
    for (const constraint of rule.constraints) {
      if (constraint.operator !== 'in_segment') continue;
      const broken = brokenSegments.get(constraint.segment);
      if (broken !== undefined)
        return {
          code: 'PARSE_ERROR',
          message: `flag "${flag.key}" uses segment "${constraint.segment}", which this SDK cannot read: ${broken}`,
        };
    }
  }
  const problem = segmentProblem(flag, segments);
  return problem === null ? null : { code: 'GENERAL', message: problem };
}

/** The segment names a flag refers to, to tell which flags a change of segments touches. */
export function segmentsUsed(entry: FlagEntry): string[] {
  if (entry.flag === null) return [];
  const names: string[] = [];
  for (const rule of entry.flag.rules) {
    for (const constraint of rule.constraints) if (constraint.operator === 'in_segment') names.push(constraint.segment);
  }
  return names;
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const member of Object.values(value)) deepFreeze(member);
}
