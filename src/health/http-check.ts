import http from 'node:http';
import type { HttpHealthCheck } from '../config/types.js';
import { checkAttempt } from './check-attempt.js';
import type { CheckResult, CheckTarget } from './index.js';

/**
 * One HTTP health check: GET <path> on the instance itself, healthy when the
 * status is inside `expectStatus`. A fresh connection every time (no agent,
 * no keep-alive) so a check proves the app still accepts connections, and a
 * wedged socket from the last check cannot make this one pass or hang.
 * Never throws.
 */
export function httpCheck(
  target: CheckTarget,
  config: { check: HttpHealthCheck; timeoutMs: number },
): Promise<CheckResult> {
  const [low, high] = config.check.expectStatus;
  return checkAttempt(
    { ms: config.timeoutMs, detail: `no answer within ${config.timeoutMs} ms` },
    ({ finish, elapsed }) => {
      const request = http.request({
        host: target.host,
        port: target.port,
        path: config.check.path,
        method: 'GET',
        agent: false,
        headers: { 'user-agent': 'cutover-health', connection: 'close' },
      });
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        response.resume();
        const ok = status >= low && status <= high;
        finish(ok, ok ? `HTTP ${status} in ${elapsed()} ms` : `HTTP ${status} (expected ${low}-${high})`);
      });
      request.on('error', (error: NodeJS.ErrnoException) =>
        finish(false, describeSocketError(error), !nothingListens(error)),
      );
      request.end();
      return () => request.destroy();
    },
  );
}

/** A refused connection: nothing listens on the port (yet). Not an answer of the app. */
export function nothingListens(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ECONNREFUSED';
}

export function describeSocketError(error: NodeJS.ErrnoException): string {
  return error.code ? `connect ${error.code}` : error.message;
}
