import { randomUUID } from 'node:crypto';
import { ServerResponse, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CutoverError, type ErrorCode } from '../../core/errors.js';
import { headerNameIs } from './hop-by-hop-headers.js';

/**
 * Answers the proxy makes itself (404, 502, 503, 504). The client gets a
 * plain page, JSON unless its Accept header prefers HTML, holding the error
 * code, a fixed sentence and a request id (also in `X-Request-Id`). What
 * went wrong (instance id, address, the upstream's error) goes to the log
 * line with the same request id, never to the client: a public page must not
 * map the internals for an attacker.
 *
 * The CutoverErrors made below carry that detail in their message; only
 * their code reaches the page.
 */
export function noRouteForHost(host: string | undefined): CutoverError {
  return new CutoverError('SERVICE_NOT_FOUND', `no service is routed for host '${host ?? ''}'`);
}

/** 413: a request body over the service's `max_body`. */
export function bodyTooLarge(service: string, maxBodyBytes: number): CutoverError {
  return new CutoverError(
    'PAYLOAD_TOO_LARGE',
    `service '${service}' takes request bodies of at most ${maxBodyBytes} bytes`,
  );
}

/** 400: a request target the proxy cannot route (request-target.ts); the target goes to the log only. */
export function unroutableTarget(url: string | undefined): CutoverError {
  return new CutoverError('BAD_REQUEST', `request target '${(url ?? '').slice(0, 200)}' cannot be routed`);
}

/**
 * 400: a path that cannot be matched against a host's path routes (request-path.ts): it climbs above `/`, or
 * holds a broken `%` escape or a NUL. nginx answers these 400 too.
 */
export function unroutablePath(url: string | undefined): CutoverError {
  return new CutoverError('BAD_REQUEST', `request path '${(url ?? '').slice(0, 200)}' does not name a path under /`);
}

/**
 * 400: two Host lines, or a Host that is no host name (RFC 9112 §3.2; host-header.ts), so no service is chosen
 * by it. The value goes to the log only, cut short.
 */
export function invalidHost(host: string | undefined): CutoverError {
  return new CutoverError('BAD_REQUEST', `Host header '${(host ?? '').slice(0, 200)}' is repeated or malformed`);
}

/** 421: an HTTPS request for a service served in the clear (its Host is not a host of the certificate's service). */
export function misdirected(service: string): CutoverError {
  return new CutoverError('MISDIRECTED_REQUEST', `service '${service}' is not served over HTTPS`);
}

/** 505: an HTTP/1.1 request for a gRPC service (`protocol: grpc`), which is called over HTTP/2 only. */
export function http2Required(service: string): CutoverError {
  return new CutoverError('HTTP2_REQUIRED', `service '${service}' speaks gRPC: it is called over HTTP/2`);
}

export function noActiveRelease(service: string): CutoverError {
  return new CutoverError('NO_UPSTREAM', `service '${service}' has no release routed yet`);
}

export function noHealthyUpstream(service: string): CutoverError {
  return new CutoverError('NO_UPSTREAM', `no healthy instance of service '${service}'`);
}

export function upstreamsBusy(service: string): CutoverError {
  return new CutoverError('UPSTREAM_BUSY', `every instance of service '${service}' has its connections and queue full`);
}

/** 504 when the upstream did not connect or answer in time, else 502. */
export function upstreamFailed(service: string, upstreamId: string, cause: unknown): CutoverError {
  const code = (cause as { code?: unknown } | null)?.code;
  const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT';
  return new CutoverError(
    timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_FAILED',
    `instance '${upstreamId}' of service '${service}' failed: ${describeCause(cause)}`,
  );
}

/** The one sentence a client reads, per code: nothing in it comes from the request or the upstream. */
const PUBLIC_MESSAGES: Partial<Record<ErrorCode, string>> = {
  SERVICE_NOT_FOUND: 'No service answers for this host.',
  BAD_REQUEST:
    'The request cannot be routed: send one Host header naming the host, and the path as the request target.',
  NO_UPSTREAM: 'The service is not available right now. Try again shortly.',
  UPSTREAM_BUSY: 'The service is busy. Try again shortly.',
  UPSTREAM_FAILED: 'The service failed to answer.',
  UPSTREAM_TIMEOUT: 'The service did not answer in time.',
  MISDIRECTED_REQUEST: 'This host is not served over HTTPS here.',
  PAYLOAD_TOO_LARGE: 'The request body is larger than this service accepts.',
  HTTP2_REQUIRED: 'This service is called over HTTP/2 (gRPC).',
  INTERNAL: 'The proxy failed to handle this request.',
};

/** Seconds a client is told to wait after a 503 for a full queue: short, the queue moves in milliseconds. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/** A client's X-Request-Id is kept only when it is short and plain, so it cannot inject markup, headers or log noise. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

interface ErrorPage {
  status: number;
  requestId: string;
  headers: [string, string][];
  body: string;
}

/** The request id (the client's when sane) and whether the client prefers HTML, from one pass over the headers. */
function readRequestHead(rawHeaders: readonly string[]): { requestId: string; html: boolean } {
  let requestId: string | undefined;
  let accept = '';
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 12 && headerNameIs(name, 'x-request-id') && requestId === undefined) {
      const value = (rawHeaders[i + 1] as string).trim();
      if (SANE_REQUEST_ID.test(value)) requestId = value;
    } else if (name.length === 6 && headerNameIs(name, 'accept')) {
      accept += `${rawHeaders[i + 1] as string},`;
    }
  }
  return { requestId: requestId ?? randomUUID(), html: prefersHtml(accept) };
}

/** The page for `error`, in the form the request asks for. */
function errorPage(rawHeaders: readonly string[], error: CutoverError): ErrorPage {
  const { requestId, html } = readRequestHead(rawHeaders);
  const status = error.status;
  const message = PUBLIC_MESSAGES[error.code] ?? STATUS_CODES[status] ?? 'Error';
  const body = html
    ? `<!doctype html>\n<html><head><meta charset="utf-8"><title>${status} ${STATUS_CODES[status] ?? ''}</title></head>\n` +
      `<body><h1>${status} ${STATUS_CODES[status] ?? ''}</h1>\n<p>${message}</p>\n<p>Request id: <code>${requestId}</code></p></body></html>\n`
    : JSON.stringify({ error: { code: error.code, message, requestId } });
  const headers: [string, string][] = [
    ['content-type', html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8'],
    ['content-length', String(Buffer.byteLength(body))],
    ['cache-control', 'no-store'],
    ['x-content-type-options', 'nosniff'],
    ['x-request-id', requestId],
  ];
  if (error.code === 'UPSTREAM_BUSY') headers.push(['retry-after', String(BUSY_RETRY_AFTER_SECONDS)]);
  return { status, requestId, headers, body };
}

/** What a service in maintenance tells its users; `message` is the operator's text, escaped on the page. */
export interface MaintenanceAnswer {
  message: string;
  retryAfterSec: number;
  /** The team's own HTML page, sent as is (it is the operator's file, not user input). */
  page: string | null;
}

const DEFAULT_MAINTENANCE_MESSAGE = 'The service is down for maintenance. Please try again later.';

/** 503 with Retry-After and the operator's message, HTML or JSON by Accept like every answer of the proxy. */
function maintenancePage(rawHeaders: readonly string[], answer: MaintenanceAnswer): ErrorPage {
  const { requestId, html } = readRequestHead(rawHeaders);
  const message = answer.message.length > 0 ? answer.message : DEFAULT_MAINTENANCE_MESSAGE;
  const body = html
    ? (answer.page ??
      `<!doctype html>\n<html><head><meta charset="utf-8"><title>Down for maintenance</title></head>\n` +
        `<body><h1>Down for maintenance</h1>\n<p>${escapeHtml(message)}</p>\n<p>Request id: <code>${requestId}</code></p></body></html>\n`)
    : JSON.stringify({ error: { code: 'MAINTENANCE', message, requestId } });
  const headers: [string, string][] = [
    ['content-type', html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8'],
    ['content-length', String(Buffer.byteLength(body))],
    ['cache-control', 'no-store'],
    ['x-content-type-options', 'nosniff'],
    ['x-request-id', requestId],
    ['retry-after', String(answer.retryAfterSec)],
  ];
  return { status: 503, requestId, headers, body };
}

export function sendMaintenanceResponse(
  res: ServerResponse,
  rawHeaders: readonly string[],
  answer: MaintenanceAnswer,
): void {
  const page = maintenancePage(rawHeaders, answer);
  res.writeHead(page.status, page.headers.flat());
  res.end(page.body);
}

/** An Upgrade request to a service in maintenance: the same answer on the raw socket, then it is closed. */
export function sendMaintenanceOnSocket(
  socket: Duplex,
  rawHeaders: readonly string[],
  answer: MaintenanceAnswer,
): void {
  if (socket.destroyed) return;
  writeOnSocket(socket, maintenancePage(rawHeaders, answer));
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] as string);
}

/**
 * HTML when the client lists text/html before any JSON type (a browser);
 * JSON otherwise, the default for API clients and scripts. Order decides,
 * not q-values: browsers list HTML first, API clients JSON or nothing.
 */
function prefersHtml(accept: string): boolean {
  const html = accept.indexOf('text/html');
  if (html < 0) return false;
  const json = accept.indexOf('json');
  return json < 0 || html < json;
}

function logError(logger: Logger | undefined, page: ErrorPage, error: CutoverError): void {
  if (logger === undefined) return;
  const line = { requestId: page.requestId, status: page.status, code: error.code };
  if (page.status >= 500 && error.code !== 'NO_UPSTREAM' && error.code !== 'UPSTREAM_BUSY')
    logger.warn(line, error.message);
  else logger.info(line, error.message);
}

export function sendErrorResponse(
  res: ServerResponse,
  rawHeaders: readonly string[],
  error: CutoverError,
  logger: Logger | undefined,
): void {
  const page = errorPage(rawHeaders, error);
  logError(logger, page, error);
  res.writeHead(page.status, page.headers.flat());
  res.end(page.body);
}

/** A bug must cost one request, not the process that routes every service. */
export function failUnexpectedly(
  error: unknown,
  req: IncomingMessage,
  target: ServerResponse | Duplex,
  logger: Logger | undefined,
): void {
  logger?.error({ err: error }, 'proxy failed to handle a request');
  const internal = new CutoverError('INTERNAL', 'the proxy failed to handle this request');
  // An HTTP/2 compatibility response is no ServerResponse, but answers like one.
  const response = target instanceof ServerResponse || 'writeHead' in target ? (target as ServerResponse) : null;
  if (response === null) sendErrorOnSocket(target as Duplex, req.rawHeaders, internal, logger);
  else if (!response.headersSent && !response.destroyed) sendErrorResponse(response, req.rawHeaders, internal, logger);
  else response.destroy();
}

/** The same answer written on a raw socket (an Upgrade request has no ServerResponse), then the socket is closed. */
export function sendErrorOnSocket(
  socket: Duplex,
  rawHeaders: readonly string[],
  error: CutoverError,
  logger: Logger | undefined,
): void {
  if (socket.destroyed) return;
  const page = errorPage(rawHeaders, error);
  logError(logger, page, error);
  writeOnSocket(socket, page);
}

function writeOnSocket(socket: Duplex, page: ErrorPage): void {
  let head = `HTTP/1.1 ${page.status} ${STATUS_CODES[page.status] ?? ''}\r\n`;
  for (const [name, value] of page.headers) head += `${name}: ${value}\r\n`;
  socket.end(`${head}connection: close\r\n\r\n${page.body}`);
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}
