import { CutoverError, type ErrorCode, ERROR_CATALOGUE } from '../../core/errors.js';
import { readSnapshot, type FlagSnapshot } from './flag-set.js';
import type { EvaluationCount } from './evaluation-counter.js';

/**
 * The SDK's requests to the flag server (the routes under /api/v1/sdk/, see
 * docs/flags.md), with the server's `{ error: { code, message, hint } }`
 * answers turned into CutoverErrors carrying the same code.
 */

/** Where the SDK reads its flags: base URL, SDK token, environment (undefined: the server's default). */
export interface FlagServer {
  url: string;
  token: string | undefined;
  environment: string | undefined;
}

export const SDK_NAME = 'cutover-node';

export function sdkUrl(server: FlagServer, route: 'flags' | 'stream' | 'evaluations'): string {
  const base = `${server.url.replace(/\/+$/, '')}/api/v1/sdk/${route}`;
  return server.environment === undefined ? base : `${base}?environment=${encodeURIComponent(server.environment)}`;
}

export function sdkHeaders(server: FlagServer, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': SDK_NAME, ...extra };
  if (server.token !== undefined && server.token !== '') headers.authorization = `Bearer ${server.token}`;
  return headers;
}

export async function fetchSnapshot(server: FlagServer, signal: AbortSignal): Promise<FlagSnapshot> {
  const response = await send(server, sdkUrl(server, 'flags'), {
    headers: sdkHeaders(server, { accept: 'application/json' }),
    signal,
  });
  if (!response.ok) throw await errorFromResponse(response);
  const snapshot = readSnapshot(await response.json());
  if (snapshot === null)
    throw new CutoverError('INTERNAL', `the flag server at ${server.url} answered something that is not a flag set`, {
      hint: 'Check that the URL points at a cutover server.',
    });
  return snapshot;
}

export async function postEvaluations(
  server: FlagServer,
  environment: string | undefined,
  counts: readonly EvaluationCount[],
  signal: AbortSignal,
): Promise<void> {
  const target = { ...server, environment: server.environment ?? environment };
  const response = await send(server, sdkUrl(target, 'evaluations'), {
    method: 'POST',
    headers: sdkHeaders(server, { 'content-type': 'application/json' }),
    body: JSON.stringify({ sdk: SDK_NAME, counts }),
    signal,
  });
  if (!response.ok) throw await errorFromResponse(response);
  await response.body?.cancel();
}

/** fetch, with a refused connection or a timeout reported as SERVER_UNREACHABLE. */
export async function send(server: FlagServer, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    throw unreachable(server, error);
  }
}

export function unreachable(server: FlagServer, error: unknown): CutoverError {
  if (error instanceof CutoverError) return error;
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  const why = cause?.code ?? cause?.message ?? (error as Error | null)?.message ?? String(error);
  return new CutoverError('SERVER_UNREACHABLE', `cannot reach the flag server at ${server.url} (${why})`, {
    hint: 'The SDK keeps answering from the flags it has and reconnects by itself; check that `cutover server` runs and the URL is right.',
    cause: error,
  });
}

export async function errorFromResponse(response: Response): Promise<CutoverError> {
  const text = await response.text().catch(() => '');
  let error: { code?: string; message?: string; hint?: string } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    // Not a cutover answer (a proxy's error page): described by its status below.
  }
  const code =
    error?.code !== undefined && Object.hasOwn(ERROR_CATALOGUE, error.code)
      ? (error.code as ErrorCode)
      : codeOfStatus(response.status);
  return new CutoverError(
    code,
    error?.message ?? `the flag server answered HTTP ${response.status}`,
    error?.hint === undefined ? {} : { hint: error.hint },
  );
}

function codeOfStatus(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status >= 500) return 'SERVER_UNREACHABLE';
  return 'BAD_REQUEST';
}

/** Errors that retrying will not fix: a wrong token or environment. */
export function isPermanent(error: CutoverError): boolean {
  return (
    error.code === 'UNAUTHORIZED' ||
    error.code === 'FORBIDDEN' ||
    error.code === 'ENVIRONMENT_NOT_FOUND' ||
    error.code === 'NOT_FOUND'
  );
}
