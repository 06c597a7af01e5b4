import type { Harness } from '../support/cutover-harness.js';

/**
 * The admin API as the SDK tests drive it: plain fetch with the admin token,
 * so a test reads like the curl a person would type. The harness's URL and
 * token are read on every call, so a restarted server is reached the same way.
 */

export interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function adminCall(
  harness: Harness,
  method: string,
  url: string,
  body?: unknown,
  token: string = harness.server.token,
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${harness.server.adminUrl}${url}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

/** Like adminCall, but a 4xx/5xx answer is a thrown error naming the route and the server's message. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function admin(harness: Harness, method: string, url: string, body?: unknown): Promise<any> {
  const answer = await adminCall(harness, method, url, body);
  if (answer.status >= 400)
    throw new Error(`${method} ${url} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** The environment's current revision, as the server counts it. */
export async function serverRevision(harness: Harness): Promise<number> {
  const list = await admin(harness, 'GET', '/api/v1/flags');
  return list.revision as number;
}

export function boolFlag(key: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { key, enabled: true, variants: { on: true, off: false }, defaultVariant: 'off', offVariant: 'off', ...extra };
}
