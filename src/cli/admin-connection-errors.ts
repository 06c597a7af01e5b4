import { CutoverError } from '../core/errors.js';

/**
 * What went wrong between the CLI and the URL it was given, named after what
 * the user set: CUTOVER_URL, --url, or server.admin in cutover.yaml. A
 * connection error from fetch ("fetch failed", with the socket error as its
 * cause) becomes a code and a hint that say which of the three to fix.
 */
export type TargetSource = 'CUTOVER_URL' | '--url' | 'server.admin';

export interface TargetOf {
  url: string;
  source: TargetSource;
}

const START_IT = 'Start it with `cutover server --config cutover.yaml`';

/** undici's connect timeout: a SYN nobody answered (a firewall dropping packets, a host that is down). */
const CONNECT_TIMEOUT_S = 10;

export function connectionError(target: TargetOf, error: unknown, silentForMs: number | null): CutoverError {
  const { url, source } = target;
  if (silentForMs !== null)
    return new CutoverError(
      'SERVER_TIMEOUT',
      `${url} accepted the connection but did not answer within ${silentForMs / 1000} s`,
      { cause: error },
    );
  const fixUrl = source === 'server.admin' ? 'fix server.admin in cutover.yaml' : `fix ${source}`;
  const code = socketErrorCode(error);
  // fetch refuses the ports browsers block (6000, 6665-6669, ...) before it connects: the server may listen there, the CLI cannot ask it.
  if (code === null && (error as { cause?: { message?: string } })?.cause?.message === 'bad port')
    return new CutoverError(
      'BAD_REQUEST',
      `${url} uses a port HTTP clients refuse to connect to (a "bad port" of the fetch standard)`,
      {
        cause: error,
        hint:
          source === 'server.admin'
            ? 'Move the admin API to another port (server.admin in cutover.yaml).'
            : `Move the admin API to another port (server.admin in cutover.yaml), and point ${source} at it.`,
      },
    );
  switch (code) {
    case 'ECONNREFUSED':
      return new CutoverError(
        'SERVER_UNREACHABLE',
        `cannot reach the cutover server at ${url} (ECONNREFUSED: nothing listens there)`,
        {
          cause: error,
          hint:
            source === 'server.admin'
              ? `${START_IT}, or set CUTOVER_URL to where it runs.`
              : `${START_IT}, or ${fixUrl} (unset, the CLI uses server.admin from cutover.yaml).`,
        },
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CutoverError(
        'SERVER_UNREACHABLE',
        `cannot reach the cutover server at ${url} (${code}: the host name does not resolve)`,
        { cause: error, hint: `Check the host name, or ${fixUrl}.` },
      );
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new CutoverError('SERVER_UNREACHABLE', `cannot reach the cutover server at ${url} (${code}: no route)`, {
        cause: error,
        hint: `The host is down or not reachable from here; check the address, or ${fixUrl}.`,
      });
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return new CutoverError(
        'SERVER_TIMEOUT',
        `no connection to ${url} within ${CONNECT_TIMEOUT_S} s (${code}): the host is down, or a firewall drops the packets`,
        { cause: error, hint: `Check that the server runs there and its port is open to this machine, or ${fixUrl}.` },
      );
    default:
      if (code?.startsWith('HPE_') || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO')
        return notCutover(target, `it does not speak HTTP the way the admin API does (${code})`, error);
      return new CutoverError(
        'SERVER_UNREACHABLE',
        `cannot reach the cutover server at ${url} (${code ?? (error as Error)?.message ?? String(error)})`,
        {
          cause: error,
          hint: source === 'server.admin' ? `${START_IT}, or set CUTOVER_URL.` : `${START_IT}, or ${fixUrl}.`,
        },
      );
  }
}

/** A URL fetch could not even try (`localhost:9900` parses as a URL of scheme "localhost:"); null when it is http(s). */
export function badUrlError(target: TargetOf): CutoverError | null {
  let protocol: string | null = null;
  try {
    protocol = new URL(target.url).protocol;
  } catch {
    /* reported below */
  }
  if (protocol === 'http:' || protocol === 'https:') return null;
  return new CutoverError('BAD_REQUEST', `${target.source} is not an http:// URL: ${JSON.stringify(target.url)}`, {
    hint: 'Write it as http://<host>:<port>, the admin address (server.admin in cutover.yaml, default http://127.0.0.1:9900).',
  });
}

/** An HTTP answer without the admin API's header: something else listens at that URL. */
export function notCutoverError(target: TargetOf, status: number, contentType: string | null): CutoverError {
  return notCutover(target, `it answered HTTP ${status}${contentType ? `, ${contentType.split(';')[0]}` : ''}`);
}

function notCutover(target: TargetOf, what: string, cause?: unknown): CutoverError {
  const { url, source } = target;
  const options = cause === undefined ? {} : { cause };
  if (source === 'server.admin')
    return new CutoverError(
      'SERVER_NOT_CUTOVER',
      `the admin address in cutover.yaml (server.admin) is ${url}, but what answers there is not cutover's admin API (${what})`,
      {
        ...options,
        hint: 'Another program holds that port: stop it, or change server.admin (then start `cutover server` again). To reach a server elsewhere, set CUTOVER_URL.',
      },
    );
  return new CutoverError(
    'SERVER_NOT_CUTOVER',
    `${source} points at ${url}, which is not cutover's admin API (is it the proxy port? ${what})`,
    options,
  );
}

/** The socket error under fetch's "fetch failed": its cause, or the first of an AggregateError (one per address tried). */
function socketErrorCode(error: unknown): string | null {
  const cause = (error as { cause?: unknown })?.cause;
  for (const candidate of [cause, (cause as { errors?: unknown[] })?.errors?.[0], error]) {
    const code = (candidate as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') return code;
  }
  return null;
}
