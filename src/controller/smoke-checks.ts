import { request } from 'undici';
import type { SmokeCheck } from '../config/types.js';
import type { InstanceInfo } from '../runtime/index.js';

/**
 * Smoke checks go to each new instance directly, not through the proxy, so
 * they test the release before any user can reach it. Resolves with the
 * first failure's description, or null when all passed.
 */
export async function runSmokeChecks(instances: InstanceInfo[], checks: SmokeCheck[]): Promise<string | null> {
  for (const instance of instances) {
    for (const check of checks) {
      const url = `http://${instance.host}:${instance.port}${check.path}`;
      try {
        const response = await request(url, {
          method: check.method,
          headersTimeout: check.timeoutMs,
          bodyTimeout: check.timeoutMs,
          signal: AbortSignal.timeout(check.timeoutMs),
        });
        await response.body.dump();
        const [low, high] = check.expectStatus;
        if (response.statusCode < low || response.statusCode > high) {
          return `${check.method} ${check.path} on ${instance.id} answered ${response.statusCode}, expected ${low}-${high}`;
        }
      } catch (error) {
        return `${check.method} ${check.path} on ${instance.id} failed: ${(error as Error).message}`;
      }
    }
  }
  return null;
}
