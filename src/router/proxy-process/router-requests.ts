import type { ProxyRouter } from '../proxy/proxy-router.js';
import type { ControlRequest } from './control-protocol.js';

/** The control operations one proxy (a worker, or the main process's own) carries out on its ProxyRouter. */
export type RouterRequest = Extract<
  ControlRequest,
  {
    op:
      | 'setRoute'
      | 'setUpstreamHealthy'
      | 'setAcmeChallenges'
      | 'drain'
      | 'drainUpstream'
      | 'counters'
      | 'latencySamples';
  }
>;

export function isRouterRequest(request: ControlRequest): request is RouterRequest {
  switch (request.op) {
    case 'setRoute':
    case 'setUpstreamHealthy':
    case 'setAcmeChallenges':
    case 'drain':
    case 'drainUpstream':
    case 'counters':
    case 'latencySamples':
      return true;
    default:
      return false;
  }
}

export async function applyRouterRequest(proxy: ProxyRouter, request: RouterRequest): Promise<unknown> {
  switch (request.op) {
    case 'setRoute':
      return proxy.setRoute(request.route);
    case 'setUpstreamHealthy':
      proxy.setUpstreamHealthy(request.upstreamId, request.healthy);
      return null;
    case 'setAcmeChallenges':
      await proxy.setAcmeChallenges(request.challenges);
      return null;
    case 'drain':
      return proxy.drain(request.service, request.releaseId, request.timeoutMs);
    case 'drainUpstream':
      return proxy.drainUpstream(request.upstreamId, request.timeoutMs);
    case 'counters':
      return proxy.counters();
    case 'latencySamples':
      return proxy.latencySamples(request.service, request.releaseId);
  }
}
