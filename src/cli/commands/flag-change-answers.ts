import type { PendingFlagChange } from '../../flags/flag-approvals.js';
import type { FlagSchedule } from '../../flags/flag-scheduler.js';
import type { Staleness } from '../../flags/flag-staleness.js';
import { dim, formatTime, printJson, yellow } from '../output.js';

/**
 * The answers of the flag hygiene routes as the CLI reads them (type-only
 * imports: nothing of the server is loaded), and the one answer every write
 * may give in an environment with `flags.require_approval`: 202 `{ pending }`.
 */
export type { FlagSchedule, PendingFlagChange, Staleness };

export interface StaleFlagAnswer {
  environment: string;
  staleAfterMs: number;
  flags: { environment: string; key: string; stale: Staleness[] }[];
}

export function isPendingAnswer(answer: unknown): answer is { pending: PendingFlagChange } {
  return answer !== null && typeof answer === 'object' && 'pending' in answer;
}

/** What a write in an approval environment prints: nothing changed yet, and who must do what next. */
export function printPending(pending: PendingFlagChange, json: boolean): void {
  if (json) {
    printJson({ pending });
    return;
  }
  process.stdout.write(
    `${yellow('pending approval')}: change ${pending.id} to ${pending.key} in ${pending.environment} was not applied; ` +
      `${pending.environment} needs a second person's approval.\n` +
      `${dim(`another person runs: cutover flags approve ${pending.id}   (or: cutover flags reject ${pending.id})`)}\n`,
  );
}

/** "single_value since 2026-01-02 03:04:05 (serves off to everyone (disabled))" */
export function describeStaleness(entry: Staleness): string {
  return `${entry.reason} since ${formatTime(entry.since)}: ${entry.detail}`;
}
