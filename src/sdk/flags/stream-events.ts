import type { EventSourceMessage } from 'eventsource-parser';
import { CutoverError } from '../../core/errors.js';
import { readSnapshot, type FlagSnapshot } from './flag-set.js';

/**
 * The events of the flag stream (docs/flags.md), read from their SSE form.
 * `snapshot` replaces the whole set; `flag` and `segments` each move the set
 * one revision forward.
 */
export type StreamEvent =
  | { type: 'snapshot'; snapshot: FlagSnapshot }
  | { type: 'flag'; revision: number; key: string; flag: unknown }
  | { type: 'segments'; revision: number; segments: unknown };

export type DeltaEvent = Exclude<StreamEvent, { type: 'snapshot' }>;

/** The event, null for an event type this SDK does not know (a newer server may send more), or a thrown CutoverError for a malformed one. */
export function readStreamEvent(message: EventSourceMessage): StreamEvent | null {
  if (message.event !== 'snapshot' && message.event !== 'flag' && message.event !== 'segments') return null;
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    throw malformed(message, 'its data is not JSON');
  }
  if (message.event === 'snapshot') {
    const snapshot = readSnapshot(data);
    if (snapshot === null) throw malformed(message, 'expected { environment, revision, flags, segments }');
    return { type: 'snapshot', snapshot };
  }
  const record = (data !== null && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  const revision = record.revision;
  if (!Number.isSafeInteger(revision)) throw malformed(message, 'expected a whole-number revision');
  if (message.event === 'segments')
    return { type: 'segments', revision: revision as number, segments: record.segments ?? {} };
  if (typeof record.key !== 'string' || !('flag' in record))
    throw malformed(message, 'expected { revision, key, flag }');
  return { type: 'flag', revision: revision as number, key: record.key, flag: record.flag };
}

function malformed(message: EventSourceMessage, why: string): CutoverError {
  return new CutoverError('INTERNAL', `the flag stream sent a "${message.event}" event the SDK cannot read: ${why}`, {
    hint: 'The SDK fetches the whole set again; check that the server and SDK versions match.',
  });
}
