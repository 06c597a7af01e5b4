import type { ServiceConfig } from '../config/types.js';

/**
 * The hint of a deploy that failed before its release served: what to change, named by the field of
 * cutover.yaml, read from what the failure says. A runner's own hint wins; without one, a person used to
 * get "`cutover logs` shows the instance output" for every failure, also where the log is empty (a
 * program not on the PATH) or says nothing about the cause (a health path the app answers with 404, an
 * app listening on a port of its own).
 */
export function deployFailureHint(
  service: ServiceConfig,
  releaseId: string | null,
  error: { code: string; message: string },
): string {
  const at = `services.${service.name}`;
  const logs = `\`cutover logs ${service.name}${releaseId ? ` --release ${releaseId}` : ''}\` shows the instance output`;
  const check = service.health.check;
  if (error.code === 'INSTANCE_START_FAILED') {
    return service.runtime === 'process'
      ? `Check ${at}.command (${service.command}) and ${at}.cwd (${service.cwd}) in cutover.yaml: the program must be on the PATH of \`cutover server\`, or named with its path; \`cutover doctor\` checks both.`
      : `Check ${at}.image and that the ${service.runtime} runtime is reachable (\`cutover doctor\` checks it); ${logs}.`;
  }
  if (/\bHTTP 404\b/.test(error.message) && check.type === 'http') {
    return `The app answers 404 at ${at}.health.path (${check.path}): set it to a path the app serves with a status in health.expect_status (${check.expectStatus[0]}-${check.expectStatus[1]}), then deploy again.`;
  }
  if (/ECONNREFUSED/.test(error.message) && /HEALTH_TIMEOUT|ROLLING_BATCH_FAILED/.test(error.code)) {
    const seconds = Math.round(service.strategy.deployTimeoutMs / 1000);
    return `Nothing listened on the instance's port: the app must listen on the port cutover gives it, PORT in its environment (or \${PORT} in ${at}.command or env); if it only starts slowly, raise ${at}.strategy.timeout (${seconds} s); ${logs}.`;
  }
  if (/HEALTH_FAILED|HEALTH_TIMEOUT/.test(error.code)) {
    return `${logs}; the health settings are ${at}.health (type, path, expect_status, start_period).`;
  }
  return `${logs}.`;
}

/** A failed operation's error with the hint above, unless it has one (an abort is a person's, it needs none). */
export function withDeployHint<E extends { code: string; message: string; hint?: string }>(
  service: ServiceConfig,
  releaseId: string | null,
  outcome: 'succeeded' | 'failed' | 'aborted',
  error: E | null,
): E | null {
  if (error === null || outcome !== 'failed' || error.hint !== undefined) return error;
  return { ...error, hint: deployFailureHint(service, releaseId, error) };
}
