import { request } from 'undici';
import type { AdminClient } from '../../src/cli/admin-client.js';
import type { EventRecord, OperationRecord } from '../../src/store/records.js';

/**
 * Sends an operation through the admin API and polls it until it has an outcome (or is ready for promote),
 * every 20 ms as eventually() does: a local request each, where a 100 ms pause cost 50 ms an operation on average.
 */
export async function operate(
  client: AdminClient,
  path: string,
  body: object = {},
): Promise<{ operation: OperationRecord; events: EventRecord[] }> {
  const { operation } = await client.request<{ operation: OperationRecord }>('POST', path, { actor: 'test', ...body });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await client.request<{ operation: OperationRecord; events: EventRecord[] }>(
      'GET',
      `/api/v1/operations/${operation.id}`,
    );
    if (answer.operation.outcome || answer.operation.phase === 'ready' || answer.operation.phase === 'paused')
      return answer;
    if (Date.now() > deadline)
      throw new Error(`operation ${operation.id} did not finish: ${JSON.stringify(answer.operation)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One request through the proxy; returns the version that answered. */
export async function versionAt(
  proxyUrl: string,
  host = 'web.localhost',
): Promise<{ status: number; version: string | null }> {
  const response = await request(proxyUrl, { headers: { host } });
  const text = await response.body.text();
  try {
    return { status: response.statusCode, version: (JSON.parse(text) as { version?: string }).version ?? null };
  } catch {
    return { status: response.statusCode, version: null };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
