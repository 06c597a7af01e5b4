import path from 'node:path';
import type { AcmeChallenges, ServiceRoute } from '../index.js';
import type { ControlRequest, SuccessorProgram } from './control-protocol.js';

/**
 * Checks the shape of a control request before the proxy acts on it. Only
 * the owner of the state directory can reach the socket, so this is about a
 * clear error for a broken or older controller rather than an attacker; the
 * route itself is checked again by the route table that builds it.
 */
export function parseControlRequest(
  message: unknown,
): { ok: true; request: ControlRequest } | { ok: false; id: number; message: string } {
  if (message === null || typeof message !== 'object') return bad(0, 'a control request must be an object');
  const m = message as Record<string, unknown>;
  const id = typeof m.id === 'number' && Number.isSafeInteger(m.id) ? m.id : 0;
  if (id === 0) return bad(0, 'a control request needs a positive integer id');
  switch (m.op) {
    case 'hello':
    case 'counters':
    case 'stop':
      return { ok: true, request: { id, op: m.op } };
    case 'setRoute':
      return isRoute(m.route)
        ? { ok: true, request: { id, op: 'setRoute', route: m.route } }
        : bad(id, 'setRoute needs a route with a service name, hosts and a target');
    case 'setUpstreamHealthy':
      return typeof m.upstreamId === 'string' && typeof m.healthy === 'boolean'
        ? { ok: true, request: { id, op: 'setUpstreamHealthy', upstreamId: m.upstreamId, healthy: m.healthy } }
        : bad(id, 'setUpstreamHealthy needs an upstreamId and healthy');
    case 'setAcmeChallenges':
      return isChallenges(m.challenges)
        ? { ok: true, request: { id, op: 'setAcmeChallenges', challenges: m.challenges } }
        : bad(id, 'setAcmeChallenges needs http01 (token → key authorization) and tlsAlpn01 (host → certPem, keyPem)');
    case 'drain':
      return typeof m.service === 'string' && typeof m.releaseId === 'string' && isTimeout(m.timeoutMs)
        ? { ok: true, request: { id, op: 'drain', service: m.service, releaseId: m.releaseId, timeoutMs: m.timeoutMs } }
        : bad(id, 'drain needs a service, a releaseId and a timeoutMs');
    case 'drainUpstream':
      return typeof m.upstreamId === 'string' && isTimeout(m.timeoutMs)
        ? { ok: true, request: { id, op: 'drainUpstream', upstreamId: m.upstreamId, timeoutMs: m.timeoutMs } }
        : bad(id, 'drainUpstream needs an upstreamId and a timeoutMs');
    case 'latencySamples':
      return typeof m.service === 'string' && typeof m.releaseId === 'string'
        ? { ok: true, request: { id, op: 'latencySamples', service: m.service, releaseId: m.releaseId } }
        : bad(id, 'latencySamples needs a service and a releaseId');
    case 'handover':
      if (!isTimeout(m.drainTimeoutMs)) return bad(id, 'handover needs a drainTimeoutMs');
      if (m.successor === undefined)
        return { ok: true, request: { id, op: 'handover', drainTimeoutMs: m.drainTimeoutMs } };
      return isSuccessorProgram(m.successor)
        ? { ok: true, request: { id, op: 'handover', drainTimeoutMs: m.drainTimeoutMs, successor: m.successor } }
        : bad(id, 'handover successor needs absolute paths to a proxy-daemon-main.js and an options file');
    default:
      return bad(id, `unknown control operation ${JSON.stringify(String(m.op)).slice(0, 60)}`);
  }
}

function bad(id: number, message: string): { ok: false; id: number; message: string } {
  return { ok: false, id, message };
}

/** Only a proxy program, by absolute path: the socket is owner-only, but a typo must not start just anything. */
function isSuccessorProgram(value: unknown): value is SuccessorProgram {
  if (value === null || typeof value !== 'object') return false;
  const s = value as Record<string, unknown>;
  return (
    typeof s.main === 'string' &&
    typeof s.optionsFile === 'string' &&
    path.isAbsolute(s.main) &&
    path.basename(s.main) === 'proxy-daemon-main.js' &&
    path.isAbsolute(s.optionsFile)
  );
}

function isTimeout(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 24 * 3_600_000;
}

function isRoute(value: unknown): value is ServiceRoute {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.service === 'string' &&
    Array.isArray(r.hosts) &&
    r.hosts.every((h) => typeof h === 'string') &&
    typeof r.default === 'boolean' &&
    (r.target === null || isTarget(r.target)) &&
    (r.canary === undefined || r.canary === null || isCanary(r.canary))
  );
}

function isTarget(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const t = value as Record<string, unknown>;
  return (
    typeof t.releaseId === 'string' &&
    typeof t.version === 'string' &&
    typeof t.slot === 'string' &&
    Array.isArray(t.upstreams) &&
    t.upstreams.every(
      (u: unknown) =>
        u !== null &&
        typeof u === 'object' &&
        typeof (u as Record<string, unknown>).id === 'string' &&
        typeof (u as Record<string, unknown>).host === 'string' &&
        Number.isInteger((u as Record<string, unknown>).port),
    )
  );
}

function isCanary(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const c = value as Record<string, unknown>;
  const stickiness = c.stickiness as Record<string, unknown> | undefined;
  return (
    isTarget(c.target) &&
    typeof c.weight === 'number' &&
    stickiness !== undefined &&
    stickiness !== null &&
    typeof stickiness.by === 'string' &&
    typeof stickiness.name === 'string' &&
    Array.isArray(c.match)
  );
}

function isChallenges(value: unknown): value is AcmeChallenges {
  if (value === null || typeof value !== 'object') return false;
  const c = value as Record<string, unknown>;
  const http01 = c.http01;
  const tlsAlpn01 = c.tlsAlpn01;
  if (http01 === null || typeof http01 !== 'object' || tlsAlpn01 === null || typeof tlsAlpn01 !== 'object')
    return false;
  return (
    Object.values(http01).every((v) => typeof v === 'string') &&
    Object.values(tlsAlpn01).every(
      (pair: unknown) =>
        pair !== null &&
        typeof pair === 'object' &&
        typeof (pair as Record<string, unknown>).certPem === 'string' &&
        typeof (pair as Record<string, unknown>).keyPem === 'string',
    )
  );
}
