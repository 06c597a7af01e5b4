import http from 'node:http';
import type { HttpHealthCheck } from '../config/types.js';
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
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const [low, high] = config.check.expectStatus;

  return new Promise<CheckResult>((resolve) => {
    let settled = false;
    const finish = (ok: boolean, detail: string, answered = true): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve({ ok, detail, durationMs: elapsed(), ...(answered ? {} : { answered: false }) });
    };

    const request = http.request({
      host: target.host,
      port: target.port,
      path: config.check.path,
      method: 'GET',
      agent: false,
      headers: { 'user-agent': 'cutover-health', connection: 'close' },
    });
    const timer = setTimeout(() => finish(false, `no answer within ${config.timeoutMs} ms`), config.timeoutMs);

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
  });
}

/** A refused connection: nothing listens on the port (yet). Not an answer of the app. */
export function nothingListens(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ECONNREFUSED';
}

export function describeSocketError(error: NodeJS.ErrnoException): string {
  return error.code ? `connect ${error.code}` : error.message;
}
