import type { Flag, Rollout } from './flag-model.js';

/**
 * When is a flag stale (docs/flags.md, "Flag hygiene")? Pure: the caller
 * passes the flag, its change history and the last evaluation time.
 *
 * - `single_value`: every evaluation has answered the same variant for
 *   `staleAfterMs` (disabled, a 0% or 100% rollout, no rules that could
 *   answer otherwise): the flag is a constant now, and the code around it
 *   can be cleaned up.
 * - `not_evaluated`: no SDK or OFREP evaluation was reported for that long,
 *   counted from the last change when that is later (a flag just created or
 *   changed has not had the time to be read).
 */
export type StaleReason = 'single_value' | 'not_evaluated';
export const STALE_REASONS: readonly StaleReason[] = ['single_value', 'not_evaluated'];

export interface Staleness {
  reason: StaleReason;
  /** Since when the condition holds (ms). */
  since: number;
  /** For people: "serves off to everyone (disabled)". */
  detail: string;
}

export interface StalenessInput {
  flag: Flag;
  /** The flag's audit entries, newest first: when its served value last changed. */
  history: readonly { at: number; after: Flag | null }[];
  /** When the flag was last written (the oldest bound when the history is cut short). */
  updatedAt: number;
  lastEvaluatedAt: number | null;
  now: number;
  staleAfterMs: number;
}

/**
 * The variants an evaluation of the flag can answer, whatever the context:
 * a rule with no constraints always matches (the rules after it never run),
 * a 0% rollout never serves, a 100% one always does.
 */
export function servedVariants(flag: Flag): Set<string> {
  if (!flag.enabled) return new Set([flag.offVariant]);
  const served = new Set<string>();
  for (const rule of flag.rules) {
    const always = rule.constraints.length === 0;
    if (rule.variant !== undefined) {
      served.add(rule.variant);
      if (always) return served;
      continue;
    }
    const rollout = rolloutVariants(rule.rollout);
    rollout.served.forEach((variant) => served.add(variant));
    if (always && rollout.always) return served;
  }
  if (flag.rollout !== null) {
    const rollout = rolloutVariants(flag.rollout);
    rollout.served.forEach((variant) => served.add(variant));
    if (rollout.always) return served;
  }
  served.add(flag.defaultVariant);
  return served;
}

/** The one variant everyone gets, or null when some users may get another. */
export function singleServedVariant(flag: Flag): string | null {
  const served = servedVariants(flag);
  return served.size === 1 ? [...served][0]! : null;
}

export function staleness(input: StalenessInput): Staleness[] {
  const found: Staleness[] = [];
  const { flag, now, staleAfterMs } = input;
  const single = singleServedVariant(flag);
  if (single !== null) {
    const since = singleValueSince(single, input);
    if (now - since >= staleAfterMs)
      found.push({ reason: 'single_value', since, detail: `serves ${single} to everyone (${whySingle(flag)})` });
  }
  const quietSince = Math.max(input.lastEvaluatedAt ?? 0, input.updatedAt);
  if (now - quietSince >= staleAfterMs)
    found.push({
      reason: 'not_evaluated',
      since: quietSince,
      detail:
        input.lastEvaluatedAt === null
          ? 'never evaluated'
          : input.lastEvaluatedAt >= input.updatedAt
            ? 'no evaluation reported since'
            : 'no evaluation reported since its last change',
    });
  return found;
}

/** The oldest change of the latest run of changes that all served `variant` to everyone. */
function singleValueSince(variant: string, input: StalenessInput): number {
  let since = input.updatedAt;
  for (const entry of input.history) {
    if (entry.after === null || singleServedVariant(entry.after) !== variant) break;
    since = Math.min(since, entry.at);
  }
  return since;
}

function rolloutVariants(rollout: Rollout): { served: string[]; always: boolean } {
  if (rollout.percentage <= 0) return { served: [], always: false };
  const variants =
    rollout.variant !== undefined
      ? [rollout.variant]
      : rollout.variants.filter((weighted) => weighted.weight > 0).map((weighted) => weighted.variant);
  return { served: variants, always: rollout.percentage >= 100 };
}

function whySingle(flag: Flag): string {
  if (!flag.enabled) return 'disabled';
  if (flag.rollout !== null && flag.rollout.percentage >= 100) return '100% rollout';
  if (flag.rollout !== null && flag.rollout.percentage <= 0) return '0% rollout';
  return flag.rules.length === 0 ? 'no rules' : 'no rule can answer otherwise';
}
