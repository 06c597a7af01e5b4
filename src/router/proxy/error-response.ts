import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CutoverError } from '../../core/errors.js';

/**
 * Answers the proxy makes itself, in the API's error shape
 * `{ "error": { code, message, hint } }`, so a user hitting a 503 during a
 * deploy reads why and a script can match on `code`.
 */
export function noRouteForHost(host: string | undefined): CutoverError {
  return new CutoverError('SERVICE_NOT_FOUND', `no service is routed for host '${host ?? ''}'`, {
    hint: "Add the host to a service's `hosts`, or mark one service `default: true`.",
  });
}

export function noActiveRelease(service: string): CutoverError {
  return new CutoverError('NO_UPSTREAM', `service '${service}' has no release routed yet`);
}

export function noHealthyUpstream(service: string): CutoverError {
  return new CutoverError('NO_UPSTREAM', `no healthy instance of service '${service}'`);
}

export function upstreamFailed(service: string, upstreamId: string, cause: unknown): CutoverError {
  const reason = describeCause(cause);
  return new CutoverError('UPSTREAM_FAILED', `instance '${upstreamId}' of service '${service}' failed: ${reason}`);
}

export function sendErrorResponse(res: ServerResponse, error: CutoverError): void {
  const body = JSON.stringify({ error: error.toJSON() });
  res.writeHead(error.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** The same answer written on a raw socket (an Upgrade request has no ServerResponse), then the socket is closed. */
export function sendErrorOnSocket(socket: Duplex, error: CutoverError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: error.toJSON() });
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'cache-control: no-store\r\n' +
      'connection: close\r\n\r\n' +
      body,
  );
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}
