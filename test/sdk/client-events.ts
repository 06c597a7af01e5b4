import type { FlagChange, FlagClient } from '../../src/sdk/flags/index.js';

/**
 * Waiting on a FlagClient without sleeping: each helper resolves on the event
 * itself, and fails after `timeoutMs` naming what it waited for, so a broken
 * stream is a clear failure rather than a hung test.
 */

export function nextEvent(client: FlagClient, event: 'stale' | 'ready', timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(event, done);
      reject(new Error(`no "${event}" event within ${timeoutMs} ms (state ${client.state})`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once(event, done);
  });
}

/** The first `change` event for which `accept` holds. */
export function changeWhere(
  client: FlagClient,
  accept: (change: FlagChange) => boolean,
  timeoutMs = 10_000,
): Promise<FlagChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('change', listener);
      reject(new Error(`no matching change within ${timeoutMs} ms (client at revision ${client.revision})`));
    }, timeoutMs);
    const listener = (change: FlagChange): void => {
      if (!accept(change)) return;
      clearTimeout(timer);
      client.off('change', listener);
      resolve(change);
    };
    client.on('change', listener);
  });
}

/** Resolves once the client's set is at `revision` or later. */
export async function reachRevision(client: FlagClient, revision: number, timeoutMs = 10_000): Promise<void> {
  if (client.revision >= revision) return;
  await changeWhere(client, () => client.revision >= revision, timeoutMs);
}
