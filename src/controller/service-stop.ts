import type { ServiceConfig } from '../config/types.js';
import { CutoverError } from '../core/errors.js';
import type { OperationRecord, ReleaseRecord } from '../store/records.js';
import { newOperationId } from './operation-ids.js';
import type { RunnerContext } from './runner-context.js';

/**
 * `cutover down <service>`: the deliberate stop of one service, while every
 * other service serves on. Under the service's deploy lock (a deploy,
 * rollback or canary in flight refuses it with DEPLOY_LOCKED), the service is
 * routed to no release, so its hosts get the proxy's 503 as before its first
 * deploy; the release that served drains for the service's drain_timeout;
 * then every release of it that runs (the active one, a standby kept for
 * rollback) stops and is marked `stopped`. A later deploy starts afresh, and
 * `cutover rollback` returns to the release that was stopped here.
 *
 * Crash safety follows the switch's order: the route changes first, then the
 * store. A crash before the store names no active release leaves it on the
 * old one, and recovery routes to it again (the stop is aborted); a crash
 * after it leaves releases in `standby` with no active one, which recovery
 * scales down at once (recovery.ts), so the stop completes.
 */
export async function stopService(ctx: RunnerContext, name: string, actor: string): Promise<OperationRecord> {
  const service = ctx.service(name);
  const now = ctx.clock.now();
  const operationId = newOperationId(now);
  ctx.store.acquireLock(name, operationId, actor, now);
  const active = ctx.lifecycle.activeRelease(name);
  let operation: OperationRecord;
  try {
    operation = ctx.store.createOperation({
      id: operationId,
      service: name,
      kind: 'down',
      releaseId: null,
      fromReleaseId: active?.id ?? null,
      actor,
      phase: 'unrouting',
      state: null,
      startedAt: now,
    });
  } catch (error) {
    ctx.store.releaseLock(name, operationId);
    throw error;
  }
  // Draining takes up to drain_timeout: the caller follows the operation, as for a deploy.
  void runStop(ctx, service, operationId, active, actor);
  return operation;
}

async function runStop(
  ctx: RunnerContext,
  service: ServiceConfig,
  operationId: string,
  active: ReleaseRecord | null,
  actor: string,
): Promise<void> {
  const { store, router, events, lifecycle, clock } = ctx;
  try {
    // Routed to nothing before the store says so: a router that refuses the route leaves everything as it was.
    await router.setRoute(lifecycle.routeFor(service, null));
    store.transaction(() => {
      store.setActiveRelease(service.name, null, clock.now());
      // Standby until stopped, like a previous release after a switch: recovery scales it down if we crash.
      if (active) store.updateRelease(active.id, { state: 'standby', scaleDownAt: null });
    });
    events.record({
      operationId,
      service: service.name,
      releaseId: active?.id ?? null,
      type: 'traffic.stopped',
      message: active
        ? `traffic to ${service.name} stopped by ${actor}: ${active.version} (${active.id}) gets no new request; its hosts answer 503`
        : `${service.name} had no active release; its hosts answer 503`,
      data: { from: active?.id ?? null },
    });
    if (active) {
      store.updateOperation(operationId, { phase: 'draining' });
      const result = await router.drain(service.name, active.id, service.drainTimeoutMs);
      events.record({
        operationId,
        service: service.name,
        releaseId: active.id,
        type: 'release.drained',
        message: result.drained
          ? `${active.id} drained: no request in flight`
          : `${active.id} drain timeout (${service.drainTimeoutMs} ms): closed ${result.closed} connection(s)`,
        data: result,
      });
    }
    store.updateOperation(operationId, { phase: 'stopping' });
    // The active release (standby now) and any release kept for instant rollback; scaleDown waits for a
    // drain still running from an earlier switch, stops the instances and marks the release stopped.
    const running = store.listReleases(service.name).filter((r) => r.state === 'standby');
    await Promise.all(running.map((release) => lifecycle.scaleDown(service, release.id, operationId)));
    events.record({
      operationId,
      service: service.name,
      releaseId: null,
      type: 'down.succeeded',
      message: running.length
        ? `${service.name} is stopped (${running.map((r) => `${r.version} (${r.id})`).join(', ')}); \`cutover rollback ${service.name}\` or a deploy starts it again`
        : `nothing of ${service.name} was running`,
    });
    lifecycle.completeOperation(operationId, service.name, 'succeeded', null, clock.now());
  } catch (error) {
    const e = error as Partial<CutoverError> & Error;
    try {
      lifecycle.completeOperation(
        operationId,
        service.name,
        'failed',
        { code: e.code ?? 'INTERNAL', message: e.message },
        clock.now(),
      );
    } catch {
      // The store closed under us (the server is stopping): recovery closes the operation at the next start.
    }
  }
}
