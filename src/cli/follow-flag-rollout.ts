import type { AdminClient } from './admin-client.js';
import type { FlagRollout, RolloutEvent } from './commands/flag-api-answers.js';
import { printEvent } from './follow-operation.js';

/**
 * Follows a flag rollout until it ends (succeeded, failed or aborted),
 * printing each event as it arrives, the way deploys are followed: poll the
 * rollout with the last event's seq, so no event is printed twice or missed.
 */
export interface FlagRolloutResult {
  rollout: FlagRollout;
  events: RolloutEvent[];
}

const POLL_MS = 200;

export async function followFlagRollout(
  client: AdminClient,
  initial: FlagRollout,
  options: { quiet: boolean },
): Promise<FlagRolloutResult> {
  const events: RolloutEvent[] = [];
  let after = 0;
  for (;;) {
    const answer = await client.request<{ rollout: FlagRollout; events: RolloutEvent[] }>(
      'GET',
      `/api/v1/flag-rollouts/${encodeURIComponent(initial.id)}?after=${after}`,
    );
    for (const event of answer.events) {
      events.push(event);
      after = Math.max(after, event.seq);
      if (!options.quiet) printEvent(event, initial.startedAt);
    }
    if (answer.rollout.phase !== 'running') return { rollout: answer.rollout, events };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
