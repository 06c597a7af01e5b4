/**
 * Calls the admin API with the session cookie (sent by the browser) and the
 * session's CSRF token from the page's meta tag, which every write needs.
 * Writes name the dashboard as the actor, so the history says who did it.
 */
const csrf = document.querySelector<HTMLMetaElement>('meta[name="cutover-csrf"]')?.content ?? '';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string | null,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: object): Promise<T> {
  const headers: Record<string, string> = { 'x-cutover-csrf': csrf };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    // The session expired or was logged out elsewhere: show the login form.
    window.location.assign('/dashboard');
    throw new ApiError(401, 'UNAUTHORIZED', 'the session ended; log in again', null);
  }
  const text = await response.text();
  const data: unknown = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string; hint?: string } } | null)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'HTTP_ERROR',
      error?.message ?? `HTTP ${response.status}`,
      error?.hint ?? null,
    );
  }
  return data as T;
}

export const DASHBOARD_ACTOR = 'dashboard';

export async function logout(): Promise<void> {
  await fetch('/dashboard/logout', { method: 'POST', headers: { 'x-cutover-csrf': csrf }, credentials: 'same-origin' });
  window.location.assign('/dashboard');
}
