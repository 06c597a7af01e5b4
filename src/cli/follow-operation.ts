import type { EventRecord, OperationRecord } from '../store/records.js';
import type { AdminClient } from './admin-client.js';
import { dim, formatDuration, green, red, yellow } from './output.js';

/**
 * Follows an operation until it has an outcome (or, for a deploy that waits
 * for promote, until it is ready), printing each event as it happens.
 */
export interface FollowResult {
  operation: OperationRecord;
  events: EventRecord[];
  /** True when the deploy stopped at `ready`, waiting for promote. */
  waitingForPromote: boolean;
}

const POLL_MS = 200;

export async function followOperation(client: AdminClient, initial: OperationRecord, options: { quiet: boolean }): Promise<FollowResult> {
  const started = Date.now();
  const events: EventRecord[] = [];
  let after = 0;
  for (;;) {
    const answer = await client.request<{ operation: OperationRecord; events: EventRecord[] }>('GET', `/api/v1/operations/${encodeURIComponent(initial.id)}?after=${after}`);
    for (const event of answer.events) {
      events.push(event);
      after = event.seq;
      if (!options.quiet) printEvent(event, started);
    }
    const op = answer.operation;
    if (op.outcome) return { operation: op, events, waitingForPromote: false };
    if (op.phase === 'ready' || op.phase === 'paused') return { operation: op, events, waitingForPromote: true };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** One event line, `[  1.2 s] ✓ message`: deploys and flag rollouts print the same way. */
export function printEvent(event: Pick<EventRecord, 'at' | 'type' | 'message'>, started: number): void {
  const elapsed = dim(`[${formatDuration(Math.max(0, event.at - started)).padStart(7)}]`);
  const mark = event.type.endsWith('.failed') || event.type.endsWith('.aborted') || event.type === 'instance.unhealthy'
    ? red('✗')
    : event.type.endsWith('.succeeded') || event.type === 'traffic.switched' || event.type === 'release.healthy'
      ? green('✓')
      : event.type === 'health.skipped' ? yellow('!') : dim('·');
  process.stdout.write(`${elapsed} ${mark} ${event.message}\n`);
}
