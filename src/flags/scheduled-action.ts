import { CutoverError } from '../core/errors.js';
import { DEFAULT_STICKINESS, isRolloutPercentage, type Flag } from './flag-model.js';

/**
 * What a scheduled flag change does (`cutover flags schedule <key> --at <time>
 * --percent 50`), and the flag it makes of the flag in force when it fires.
 * Pure: the scheduler validates an action when it is scheduled and applies
 * it to the flag as it is at its time.
 */
export type ScheduledAction =
  /** The top-level rollout's percentage (and its variant, when named). */
  | { type: 'percent'; percentage: number; variant?: string }
  | { type: 'enable' }
  | { type: 'disable' }
  /** The default variant: what everyone no rule or rollout catches gets. */
  | { type: 'variant'; variant: string };

export function describeAction(action: ScheduledAction): string {
  switch (action.type) {
    case 'percent':
      return `rollout ${action.percentage}%${action.variant === undefined ? '' : ` of ${action.variant}`}`;
    case 'enable':
      return 'enable';
    case 'disable':
      return 'disable (kill switch)';
    case 'variant':
      return `default variant ${action.variant}`;
  }
}

/** The flag after the action; BAD_REQUEST when the flag has no such variant or cannot take it. */
export function applyAction(flag: Flag, action: ScheduledAction): Flag {
  switch (action.type) {
    case 'enable':
      return { ...flag, enabled: true };
    case 'disable':
      return { ...flag, enabled: false };
    case 'variant':
      requireVariant(flag, action.variant);
      return { ...flag, defaultVariant: action.variant };
    case 'percent': {
      if (!isRolloutPercentage(action.percentage))
        throw new CutoverError('BAD_REQUEST', `percent: expected 0 to 100 in steps of 0.01, got ${action.percentage}`);
      const stickiness = flag.rollout?.stickiness ?? DEFAULT_STICKINESS;
      if (action.variant === undefined && flag.rollout?.variants !== undefined)
        return { ...flag, rollout: { ...flag.rollout, percentage: action.percentage } };
      const variant =
        action.variant ?? flag.rollout?.variant ?? (Object.hasOwn(flag.variants, 'on') ? 'on' : undefined);
      if (variant === undefined)
        throw new CutoverError(
          'BAD_REQUEST',
          `variant: flag "${flag.key}" has no rollout and no "on" variant; name the variant (one of ${Object.keys(flag.variants).join(', ')})`,
        );
      requireVariant(flag, variant);
      return { ...flag, rollout: { percentage: action.percentage, stickiness, variant } };
    }
  }
}

function requireVariant(flag: Flag, variant: string): void {
  if (!Object.hasOwn(flag.variants, variant))
    throw new CutoverError(
      'BAD_REQUEST',
      `variant: flag "${flag.key}" has no variant "${variant}" (it has ${Object.keys(flag.variants).join(', ')})`,
    );
}
