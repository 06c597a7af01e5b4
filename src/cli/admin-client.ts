import { CutoverError, type ErrorCode } from '../core/errors.js';
import { readToken } from '../http/admin-token.js';
import { loadConfig } from '../config/load-config.js';
import { localUrlOf } from '../config/listen-address.js';

/**
 * How the CLI reaches the server: CUTOVER_URL / CUTOVER_TOKEN when set,
 * otherwise the admin address from cutover.yaml and the token from its state
 * directory (the file the server wrote at first start).
 */
export interface ClientTarget {
  url: string;
  token: string | null;
}

export async function resolveTarget(
  options: { config?: string; url?: string; token?: string },
  env = process.env,
): Promise<ClientTarget> {
  const url = options.url ?? env.CUTOVER_URL;
  let token = options.token ?? env.CUTOVER_TOKEN ?? null;
  if (url && token) return { url: url.replace(/\/$/, ''), token };
  const config = await loadConfig(options.config ?? 'cutover.yaml', { env });
  token ??= readToken(config.server.stateDir, env);
  return { url: (url ?? localUrlOf(config.server.admin)).replace(/\/$/, ''), token };
}

export class AdminClient {
  constructor(private readonly target: ClientTarget) {}

  get url(): string {
    return this.target.url;
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const response = await this.fetch(method, path, body);
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* a non-JSON answer is reported below */
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; hint?: string; details?: unknown } } | null)
        ?.error;
      if (error?.code) {
        throw new CutoverError(error.code as ErrorCode, error.message ?? `HTTP ${response.status}`, {
          hint: error.hint,
          details: error.details,
        });
      }
      throw new CutoverError('INTERNAL', `the server answered HTTP ${response.status}: ${text.slice(0, 200)}`);
    }
    return parsed as T;
  }

  /** For streaming endpoints (logs). */
  async stream(path: string): Promise<Response> {
    const response = await this.fetch('GET', path);
    if (!response.ok) {
      const parsed = (await response.json().catch(() => null)) as {
        error?: { code: ErrorCode; message: string; hint?: string };
      } | null;
      if (parsed?.error) throw new CutoverError(parsed.error.code, parsed.error.message, { hint: parsed.error.hint });
      throw new CutoverError('INTERNAL', `the server answered HTTP ${response.status}`);
    }
    return response;
  }

  private async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(`${this.target.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CutoverError(
        'SERVER_UNREACHABLE',
        `cannot reach the cutover server at ${this.target.url} (${cause?.code ?? cause?.message ?? (error as Error).message})`,
      );
    }
  }
}
