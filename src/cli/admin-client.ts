import { readFile } from 'node:fs/promises';
import { CutoverError, type ErrorCode } from '../core/errors.js';
import { readToken } from '../http/admin-token.js';
import { loadConfig } from '../config/load-config.js';
import { localUrlOf } from '../config/listen-address.js';
import { CONFIG_DIGEST_HEADER, sha256Of } from '../config/config-digest.js';

/**
 * How the CLI reaches the server: CUTOVER_URL / CUTOVER_TOKEN when set,
 * otherwise the admin address from cutover.yaml and the token from its state
 * directory (the file the server wrote at first start).
 */
export interface ClientTarget {
  url: string;
  token: string | null;
  /** The cutover.yaml this CLI read and its digest: the server's answers say which one it runs. */
  config?: { file: string; sha256: string } | null;
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
  const text = config.file === null ? null : await readFile(config.file, 'utf8').catch(() => null);
  return {
    url: (url ?? localUrlOf(config.server.admin)).replace(/\/$/, ''),
    token,
    config: config.file === null || text === null ? null : { file: config.file, sha256: sha256Of(text) },
  };
}

export class AdminClient {
  private driftSaid = false;

  constructor(private readonly target: ClientTarget) {}

  /**
   * Said once per command, on stderr: the file this CLI read is not the one
   * the server runs (edited since, so a new service is "not found").
   */
  private noticeDrift(response: Response): void {
    const running = response.headers.get(CONFIG_DIGEST_HEADER);
    const mine = this.target.config;
    if (this.driftSaid || running === null || !mine || running === mine.sha256) return;
    this.driftSaid = true;
    process.stderr.write(
      `note: ${mine.file} changed since the server loaded it: run \`cutover reload\` to apply it (\`cutover reload\` shows what changes)\n`,
    );
  }

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
      const response = await fetch(`${this.target.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      this.noticeDrift(response);
      return response;
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CutoverError(
        'SERVER_UNREACHABLE',
        `cannot reach the cutover server at ${this.target.url} (${cause?.code ?? cause?.message ?? (error as Error).message})`,
      );
    }
  }
}
