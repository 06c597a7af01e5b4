import type { BlueGreenState } from '../core/blue-green-strategy.js';
import type { Runtime } from '../runtime/index.js';
import type { Controller } from './controller.js';

/**
 * What a controller does when it starts, whether after a clean stop or a
 * SIGKILL in the middle of a deploy:
 *   1. take back the instances that are still alive (the runtime checks the pid is ours);
 *   2. put the last good routes back at once, before anything slow happens;
 *   3. close every operation that has no outcome: if traffic had already moved
 *      (the switch is persisted before the route changes) it succeeded,
 *      otherwise it is marked aborted, with traffic on the release that was active;
 *   4. restart missing instances of active releases, stop strays, and
 *      re-arm the scale-down timers of standby releases.
 */
export async function recoverAfterRestart(controller: Controller, runtime: Runtime): Promise<void> {
  const { store, supervisor, router, config, events } = controller;
  const now = Date.now();

  const records = store.listInstances();
  const adopted = await runtime.adopt(records);
  const adoptedIds = new Set(adopted.map((i) => i.id));
  for (const record of records) if (!adoptedIds.has(record.id)) store.deleteInstance(record.id);

  // Routes first: users get answers within the time it takes to read SQLite.
  const kept = new Set<string>();
  for (const service of Object.values(config.services)) {
    const active = controller.activeRelease(service.name);
    if (active) {
      const alive = adopted.filter((i) => i.releaseId === active.id);
      supervisor.adoptRelease({ service, releaseId: active.id, version: active.version, slot: active.slot }, alive, true);
      for (const i of alive) kept.add(i.id);
    }
    router.setRoute(controller.routeFor(service, active));
    if (active) supervisor.syncRouterHealth(active.id);
  }

  for (const op of store.unfinishedOperations()) {
    const state = op.state as Partial<BlueGreenState> | null;
    const active = store.getService(op.service).activeReleaseId;
    // The switch is persisted before the route changes: an operation whose release is active moved traffic.
    const moved = active !== null && active === op.releaseId && (op.kind !== 'deploy' || state === null || state.phase === 'switching' || (state as { promoted?: boolean }).promoted === true);
    if (moved) {
      events.record({ operationId: op.id, service: op.service, releaseId: op.releaseId, type: `${op.kind}.succeeded`, message: `${op.kind} finished after a controller restart: traffic had moved to ${op.releaseId} before it stopped` });
      controller.completeOperation(op.id, op.service, 'succeeded', null, now);
      continue;
    }
    const error = {
      code: 'DEPLOY_ABORTED',
      message: `the controller stopped during the ${op.kind} (phase ${op.phase}); traffic stayed on ${active ?? 'nothing'}`,
      hint: 'Run the deploy again.',
    };
    if (op.releaseId && op.releaseId !== active) {
      const release = store.getRelease(op.releaseId);
      if (release && (release.state === 'starting' || release.state === 'ready')) {
        store.updateRelease(release.id, { state: op.kind === 'rollback' ? 'stopped' : 'aborted', error });
      }
    }
    events.record({ operationId: op.id, service: op.service, releaseId: op.releaseId, type: `${op.kind}.aborted`, message: error.message, level: 'warn' });
    controller.completeOperation(op.id, op.service, 'aborted', error, now);
  }
  // A lock whose operation has an outcome is left over from a crash between the two writes.
  for (const service of Object.keys(config.services)) {
    const lock = store.getLock(service);
    if (lock && store.getOperation(lock.operationId)?.outcome) store.releaseLock(service, lock.operationId);
  }

  for (const service of Object.values(config.services)) {
    for (const release of store.listReleases(service.name)) {
      if (release.state === 'standby') {
        const alive = adopted.filter((i) => i.releaseId === release.id);
        if (alive.length === 0) {
          store.updateRelease(release.id, { state: 'stopped', scaleDownAt: null });
          continue;
        }
        supervisor.adoptRelease({ service, releaseId: release.id, version: release.version, slot: release.slot }, alive, true);
        for (const i of alive) kept.add(i.id);
        controller.scheduleScaleDown(service, release.id, release.scaleDownAt ?? now);
      } else if (release.state === 'starting' || release.state === 'ready') {
        store.updateRelease(release.id, { state: 'aborted' });
      }
    }
  }

  // Instances of deploys that never got traffic: stop them, they serve nobody.
  await Promise.all(adopted.filter((i) => !kept.has(i.id)).map(async (i) => {
    await runtime.stop(i.id);
    store.deleteInstance(i.id);
  }));

  // Fill up active releases that lost instances while the controller was down (in the background: routes are already up).
  for (const service of Object.values(config.services)) {
    const active = controller.activeRelease(service.name);
    if (!active) continue;
    const missing = service.instances - supervisor.instancesOf(active.id).length;
    if (missing > 0) {
      events.record({ operationId: null, service: service.name, releaseId: active.id, type: 'instance.restarting', message: `restarting ${missing} missing instance(s) of the active release ${active.id}`, level: 'warn' });
      void supervisor.fillRelease(active.id);
    }
  }
}
