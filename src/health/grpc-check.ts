import http2 from 'node:http2';
import type { GrpcHealthCheck } from '../config/types.js';
import { checkAttempt } from './check-attempt.js';
import { describeSocketError, nothingListens } from './http-check.js';
import type { CheckResult, CheckTarget } from './index.js';

/**
 * One gRPC health check (`health.type: grpc`, the default of a
 * `protocol: grpc` service): the standard `grpc.health.v1.Health/Check`
 * call over HTTP/2 cleartext, as Kubernetes' gRPC probe makes it. Healthy
 * when the call ends with grpc-status 0 and the answer says SERVING. A
 * fresh session every time, like the HTTP check. Never throws.
 *
 * The request and answer are tiny protobuf messages, coded here by hand
 * rather than through a protobuf library: HealthCheckRequest is one string
 * field (1: service), HealthCheckResponse one enum field (1: status,
 * SERVING = 1); see grpc/grpc's doc/health-checking.md.
 */
export function grpcCheck(
  target: CheckTarget,
  config: { check: GrpcHealthCheck; timeoutMs: number },
): Promise<CheckResult> {
  return checkAttempt(
    { ms: config.timeoutMs, detail: `no answer within ${config.timeoutMs} ms` },
    ({ finish, elapsed }) => {
      const host = target.host.includes(':') ? `[${target.host}]` : target.host;
      const session = http2.connect(`http://${host}:${target.port}`);
      session.on('error', (error: NodeJS.ErrnoException) =>
        finish(false, describeSocketError(error), !nothingListens(error)),
      );
      const stream = session.request({
        ':method': 'POST',
        ':path': '/grpc.health.v1.Health/Check',
        'content-type': 'application/grpc',
        te: 'trailers',
        'user-agent': 'cutover-health',
      });
      // A stream opened on a session that never connected fails with the connect error as its cause.
      stream.on('error', (error: NodeJS.ErrnoException) => {
        const cause = (error.cause ?? error) as NodeJS.ErrnoException;
        finish(false, describeSocketError(cause), !nothingListens(cause));
      });
      const chunks: Buffer[] = [];
      let received = 0;
      let head: http2.IncomingHttpHeaders = {};
      stream.on('response', (headers) => (head = headers));
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        // A health answer is a few bytes; anything large is not one.
        if (received > MAX_ANSWER_BYTES) finish(false, 'the health answer is too large');
        else chunks.push(chunk);
      });
      let trailers: http2.IncomingHttpHeaders = {};
      stream.on('trailers', (t) => (trailers = t));
      stream.on('end', () => {
        const httpStatus = Number(head[':status']);
        const grpcStatus = trailers['grpc-status'] ?? head['grpc-status'];
        if (httpStatus !== 200) finish(false, `HTTP ${httpStatus} (not a gRPC answer)`);
        else if (grpcStatus !== '0') finish(false, `gRPC status ${String(grpcStatus ?? 'missing')}`);
        else {
          const status = servingStatus(Buffer.concat(chunks));
          if (status === SERVING) finish(true, `SERVING in ${elapsed()} ms`);
          else finish(false, `health status ${STATUS_NAMES[status ?? -1] ?? 'unreadable'}`);
        }
      });
      stream.end(checkRequest(config.check.service));
      return () => session.destroy();
    },
  );
}

const MAX_ANSWER_BYTES = 1024;
const SERVING = 1;
const STATUS_NAMES: Record<number, string> = { 0: 'UNKNOWN', 1: 'SERVING', 2: 'NOT_SERVING', 3: 'SERVICE_UNKNOWN' };

/** A length-prefixed gRPC message holding HealthCheckRequest { service }. */
export function checkRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  // Field 1, wire type 2 (length-delimited); the config bounds the name far below 128 bytes, so the length is one byte.
  const message = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
  const frame = Buffer.alloc(5);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  return Buffer.concat([frame, message]);
}

/** The status field of the first length-prefixed HealthCheckResponse, or null when it cannot be read. */
export function servingStatus(body: Buffer): number | null {
  if (body.length < 5 || body.readUInt8(0) !== 0) return null;
  const length = body.readUInt32BE(1);
  const message = body.subarray(5, 5 + length);
  if (message.length !== length) return null;
  // proto3 leaves a field at its default out: an empty message is status 0 (UNKNOWN).
  for (let i = 0; i < message.length;) {
    const key = message[i++] as number;
    if (key === 0x08) return message[i] ?? null;
    // Skip another field: only varints and length-delimited ones are expected here.
    if ((key & 0x07) === 0) {
      while (i < message.length && ((message[i++] as number) & 0x80) !== 0);
    } else if ((key & 0x07) === 2) {
      i += 1 + (message[i] ?? 0);
    } else return null;
  }
  return 0;
}
