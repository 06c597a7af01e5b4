import { setTimeout as delay } from 'node:timers/promises';
import { CutoverError, isCutoverError } from '../../core/errors.js';
import { serviceKey } from './haproxy-names.js';
import type { HaproxyRuntimeApi } from './haproxy-runtime-api.js';
import { HANDOFF_BACKEND } from './render-haproxy-config.js';
import type { RoutingState, ServerAdmin } from './routing-state.js';
import { statKey } from './stat-counters.js';

/**
 * What the running HAProxy serves, compared with what cutover expects: the
 * worker's generation (the config's `description`, answered by `show info`),
 * and on adoption its servers and routes.map values.
 */

/** Resolves once the worker answering the Runtime API runs `generation`; ROUTER_APPLY_FAILED at the timeout. */
export async function waitForGeneration(api: HaproxyRuntimeApi, generation: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let seen = 'no answer';
  for (;;) {
    try {
      // Between the old worker leaving and the new one binding, the socket briefly refuses: asked again.
      seen = (await api.showInfo()).get('description') ?? 'none';
      if (seen === generation) return;
    } catch (error) {
      seen = isCutoverError(error) ? error.message : String(error);
    }
    if (performance.now() > deadline)
      throw new CutoverError(
        'ROUTER_APPLY_FAILED',
        `haproxy did not serve generation ${generation} within ${timeoutMs} ms (last answer: ${seen})`,
      );
    await delay(20);
  }
}

/** What HAProxy holds that the state does not say, one line each (empty when they agree). */
export async function stateDifferences(
  api: HaproxyRuntimeApi,
  state: RoutingState,
  routesMapPath: string,
  generation: string,
): Promise<string[]> {
  const out: string[] = [];
  const description = (await api.showInfo()).get('description');
  if (description !== generation) out.push(`generation ${description ?? 'none'} instead of ${generation}`);
  const running = new Map((await api.showServersState()).map((s) => [statKey(s.backend, s.server), s]));
  for (const [key, record] of state.servers) {
    const server = running.get(key);
    if (server === undefined) {
      out.push(`server ${key} missing`);
      continue;
    }
    // srv_admin_state: 0x01 maintenance forced by the CLI, 0x08 drain forced by the CLI.
    const admin: ServerAdmin =
      (server.adminState & 0x01) !== 0 ? 'maint' : (server.adminState & 0x08) !== 0 ? 'drain' : 'ready';
    if (server.port !== record.upstream.port || admin !== record.admin)
      out.push(`server ${key}: port ${server.port} ${admin} instead of port ${record.upstream.port} ${record.admin}`);
  }
  for (const [key, server] of running)
    if (key.startsWith('cutover_') && server.backend !== HANDOFF_BACKEND && !state.servers.has(key))
      out.push(`server ${key} unknown`);
  const routes = await api.showMap(routesMapPath);
  for (const service of state.services.values()) {
    if (routes.get(serviceKey(service.route.service)) !== state.routeValueOf(service))
      out.push(`route of ${service.route.service} differs`);
  }
  return out;
}
