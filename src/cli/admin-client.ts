import { readFile } from 'node:fs/promises';
import { CutoverError, type ErrorCode } from '../core/errors.js';
import { readToken } from '../http/admin-token.js';
import { localUrlOf } from '../config/listen-address.js';
import { CONFIG_DIGEST_HEADER, sha256Of } from '../config/config-digest.js';
import { ADMIN_API_HEADER, ADMIN_API_HEADER_VALUE } from '../http/admin-api-header.js';
import { badUrlError, connectionError, notCutoverError, type TargetSource } from './admin-connection-errors.js';

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
  /** Where the URL came from, so an error can name what to fix; CUTOVER_URL when absent. */
  source?: TargetSource;
}

export async function resolveTarget(
  options: { config?: string; url?: string; token?: string },
  env = process.env,
): Promise<ClientTarget> {
  const url = options.url ?? env.CUTOVER_URL;
  const source: TargetSource = options.url !== undefined ? '--url' : env.CUTOVER_URL ? 'CUTOVER_URL' : 'server.admin';
  let token = options.token ?? env.CUTOVER_TOKEN ?? null;
  if (url && token) return { url: url.replace(/\/$/, ''), token, source };
  // The server section only: the CLI asks the server for the rest, and needs none of the services' secrets.
  // Loaded here, not at the top: the config schemas (zod) would slow every command, even `--help`.
  const { loadConfig } = await import('../config/load-config.js');
  const config = await loadConfig(options.config ?? 'cutover.yaml', { env, serverOnly: true });
  token ??= readToken(config.server.stateDir, env);
  const text = config.file === null ? null : await readFile(config.file, 'utf8').catch(() => null);
  return {
    url: (url ?? localUrlOf(config.server.admin)).replace(/\/$/, ''),
    token,
    source,
    config: config.file === null || text === null ? null : { file: config.file, sha256: sha256Of(text) },
  };
}

/**
 * A GET of the admin API answers at once (operations are followed by polling); a longer
 * silence means the URL is not the admin API. Writes are not bounded: a migration or a
 * backup answers when it is done.
 */
const GET_ANSWER_WITHIN_MS = 30_000;

export class AdminClient {
  private driftSaid = false;
  private readonly answerWithinMs: number;

  constructor(
    private readonly target: ClientTarget,
    options: { answerWithinMs?: number } = {},
  ) {
    this.answerWithinMs = options.answerWithinMs ?? GET_ANSWER_WITHIN_MS;
  }

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
    const response = await this.fetch(method, path, body, method === 'GET' ? this.answerWithinMs : null);
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
    const response = await this.fetch('GET', path, undefined, null);
    if (!response.ok) {
      const parsed = (await response.json().catch(() => null)) as {
        error?: { code: ErrorCode; message: string; hint?: string };
      } | null;
      if (parsed?.error) throw new CutoverError(parsed.error.code, parsed.error.message, { hint: parsed.error.hint });
      throw new CutoverError('INTERNAL', `the server answered HTTP ${response.status}`);
    }
    return response;
  }

  private async fetch(method: string, path: string, body: unknown, answerWithinMs: number | null): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const where = { url: this.target.url, source: this.target.source ?? 'CUTOVER_URL' };
    const badUrl = badUrlError(where);
    if (badUrl) throw badUrl;
    // Bounds the wait for the response head only: the body (a log stream) may take as long as it takes.
    const silence = new AbortController();
    const timer = answerWithinMs === null ? null : setTimeout(() => silence.abort(), answerWithinMs);
    let response: Response;
    try {
      response = await fetch(`${this.target.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: silence.signal,
        // A redirect is an answer of something else (a web server, a login page): reported, not followed.
        redirect: 'manual',
      });
    } catch (error) {
      throw connectionError(where, error, silence.signal.aborted ? answerWithinMs : null);
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
    // Whatever else listens there (the proxy, an app, another web server) answers without this header.
    if (response.headers.get(ADMIN_API_HEADER) !== ADMIN_API_HEADER_VALUE) {
      const type = response.headers.get('content-type');
      await response.body?.cancel().catch(() => {});
      throw notCutoverError(where, response.status, type);
    }
    this.noticeDrift(response);
    return response;
  }
}
