import { CutoverError } from '../../core/errors.js';
import type { BackoffOptions } from './reconnect-backoff.js';

/** What `new FlagClient(options)` accepts; see docs/flags.md. */
export interface FlagClientOptions {
  /** The cutover server's admin address, e.g. `http://127.0.0.1:9900`. */
  url: string;
  /** The SDK token (`CUTOVER_SDK_TOKEN`, or `<state_dir>/sdk-token`). */
  token?: string;
  /** The flag environment; the server's default (the first configured) when omitted. */
  environment?: string;
  /** Where the last good flag set is kept, so a start while the server is down still has flags. */
  cacheFile?: string;
  /** How often evaluation counts are reported (default 10 s); 0 reports only at close(). */
  reportIntervalMs?: number;
  /** How long ready() waits for the server when there is no cache to fall back on (default 10 s). */
  readyTimeoutMs?: number;
  /** Timeout of one snapshot fetch or count report (default 5 s). */
  requestTimeoutMs?: number;
  /** A stream with no byte for this long is replaced (default 45 s: three of the server's 15 s pings). */
  idleTimeoutMs?: number;
  /** Reconnection delays (default 0.5 s doubling to 30 s, with jitter). */
  reconnect?: BackoffOptions;
}

export type ResolvedClientOptions = Required<Omit<FlagClientOptions, 'token' | 'environment' | 'cacheFile'>> &
  Pick<FlagClientOptions, 'token' | 'environment' | 'cacheFile'>;

/** Options checked once, at construction: a typo in the URL is a thrown CONFIG_INVALID, not a client that never connects. */
export function resolveClientOptions(options: FlagClientOptions): ResolvedClientOptions {
  const problems: string[] = [];
  let url: URL | null = null;
  try {
    url = new URL(options.url);
  } catch {
    problems.push(`url: expected an http(s) URL such as http://127.0.0.1:9900, got ${JSON.stringify(options.url)}`);
  }
  if (url !== null && url.protocol !== 'http:' && url.protocol !== 'https:')
    problems.push(`url: expected http: or https:, got ${url.protocol}`);
  const duration = (
    name: keyof FlagClientOptions,
    value: number | undefined,
    fallback: number,
    minimum: number,
  ): number => {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value < minimum)
      problems.push(`${name}: expected a number of milliseconds of at least ${minimum}, got ${value}`);
    return value;
  };
  const resolved: ResolvedClientOptions = {
    url: typeof options.url === 'string' ? options.url.replace(/\/+$/, '') : '',
    token: options.token,
    environment: options.environment,
    cacheFile: options.cacheFile,
    reportIntervalMs: duration('reportIntervalMs', options.reportIntervalMs, 10_000, 0),
    readyTimeoutMs: duration('readyTimeoutMs', options.readyTimeoutMs, 10_000, 0),
    requestTimeoutMs: duration('requestTimeoutMs', options.requestTimeoutMs, 5_000, 1),
    idleTimeoutMs: duration('idleTimeoutMs', options.idleTimeoutMs, 45_000, 1),
    reconnect: options.reconnect ?? {},
  };
  if (problems.length > 0) {
    throw new CutoverError('CONFIG_INVALID', `The flag client options are invalid: ${problems.join('; ')}`, {
      hint: 'Pass the server address as url (and the SDK token as token); see docs/flags.md.',
      details: problems,
    });
  }
  return resolved;
}
