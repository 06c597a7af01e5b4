import type { ServiceConfig } from '../config/types.js';
import { withEnvFiles } from '../config/env-files.js';
import type { BlueGreenState } from '../core/blue-green-strategy.js';
import type { CanaryPhase, CanaryState } from '../core/canary-strategy.js';
import type { InstanceInfo, Runtime } from '../runtime/index.js';
import type { OperationRecord } from '../store/records.js';
import type { RunnerContext } from './runner-context.js';
import type { ReleaseRef } from './instance-supervisor.js';
import { addClause } from '../core/log-tail-message.js';

/**
 * What a controller does when it starts, whether after a clean stop or a
 * SIGKILL in the middle of a deploy:
 *   1. take back the instances that are still alive (the runtime checks the pid is ours);
 *   2. put the last good routes back at once, before anything slow happens;
 *   3. close every operation that has no outcome: if traffic had already moved
 *      (the switch is persisted before the route changes) it succeeded,
 *      otherwise it is marked aborted, with traffic on the release that was active;
 *      except a canary rollout with `on_restart: resume` whose canary instances
 *      all survived: it goes on from its persisted step at its persisted weight
 *      (restored with the routes in step 2) and keeps the deploy lock; and a
 *      blue-green deploy in its post-promotion window (`watching`): traffic had
 *      moved, so its release stays active, the previous release stays standby
 *      (no scale-down yet: a failure still switches back to it) and the
 *      analysis resumes for the rest of the window;
 *      a deploy that moved traffic keeps its previous release for scale_down_delay;
 *   4. restart missing instances of active releases, stop strays, and
 *      re-arm the scale-down timers of standby releases.
 */
/** The runners that take back what was running: a blue-green post-promotion watch, a canary with `on_restart: resume`. */
export interface RecoveryResumers {
  watch(service: ServiceConfig, operation: OperationRecord, state: BlueGreenState, switchedAt: number): void;
  canary(service: ServiceConfig, operation: OperationRecord, state: CanaryState): Promise<void>;
}

/**
 * An adopted release's service with its env files read again, for the instances the supervisor restarts
 * after a crash. Unlike a deploy, a missing file cannot refuse anything here (the instances already run):
 * it is recorded, and a restart gets the service's `env` alone.
 */
function withEnvFilesAfterRestart(ctx: RunnerContext, service: ServiceConfig): ServiceConfig {
  try {
    return withEnvFiles(service).service;
  } catch (error) {
    ctx.events.record({
      operationId: null,
      service: service.name,
      releaseId: null,
      type: 'env-file.unreadable',
      level: 'warn',
      message: addClause((error as Error).message, "an instance restarted after a crash gets the service's env: alone"),
    });
    return service;
  }
}

export async function recoverAfterRestart(
  ctx: RunnerContext,
  runtime: Runtime,
  resume: RecoveryResumers,
  options: { fillMissing?: boolean } = {},
): Promise<{ restartAborted: Set<string> }> {
  const { store, supervisor, router, config, events } = ctx;
  const now = ctx.clock.now();

  const records = store.listInstances();
  const adopted = await runtime.adopt(records);
  const adoptedIds = new Set(adopted.map((i) => i.id));
  for (const record of records) if (!adoptedIds.has(record.id)) store.deleteInstance(record.id);

  const resumed = new Map<string, ResumableCanary>();
  for (const op of store.unfinishedOperations()) {
    const verdict = canaryToResume(ctx, op, records, adopted);
    if (typeof verdict === 'string') {
      events.record({
        operationId: op.id,
        service: op.service,
        releaseId: op.releaseId,
        type: 'canary.not-resumed',
        level: 'warn',
        message: `the canary cannot resume after the controller restart: ${verdict}; it is aborted instead`,
      });
    } else if (verdict) {
      resumed.set(op.service, verdict);
    }
  }

  // Routes first: users get answers within the time it takes to read SQLite. Every service's
  // route is set in the same tick, so nginx takes them all in one reload (never a file with
  // some services missing).
  const kept = new Set<string>();
  const routed: Promise<void>[] = [];
  for (const service of Object.values(config.services)) {
    const active = ctx.lifecycle.activeRelease(service.name);
    if (active) {
      const alive = adopted.filter((i) => i.releaseId === active.id);
      supervisor.adoptRelease(
        {
          service: withEnvFilesAfterRestart(ctx, service),
          releaseId: active.id,
          version: active.version,
          slot: active.slot,
        },
        alive,
        true,
      );
      for (const i of alive) kept.add(i.id);
    }
    const canary = resumed.get(service.name);
    // Kept either way: resumed, or stopped by resumeCanary if the resume failed.
    for (const i of canary?.instances ?? []) kept.add(i.id);
    routed.push(
      (async () => {
        if (!canary || !(await resumeCanary(ctx, resume, canary))) {
          resumed.delete(service.name);
          // nginx refusing the route must not keep the server from starting: nginx serves its last good config meanwhile.
          await router.setRoute(ctx.lifecycle.routeFor(service, active)).catch((error: unknown) => {
            events.record({
              operationId: null,
              service: service.name,
              releaseId: active?.id ?? null,
              type: 'router.restore-failed',
              level: 'error',
              message: `the route could not be restored after the restart: ${(error as Error).message}`,
            });
          });
        }
        if (active) supervisor.syncRouterHealth(active.id);
      })(),
    );
  }
  await Promise.all(routed);

  const resumedIds = new Set([...resumed.values()].map((c) => c.operation.id));
  const restartAborted = new Set<string>();
  const watches: ResumableWatch[] = [];
  /** Previous releases of deploys that moved traffic: they keep their rollback window (scale_down_delay) from now. */
  const toRetire: { service: ServiceConfig; releaseId: string; immediately: boolean; operationId: string }[] = [];
  /** Services whose `down` was under way: their standby releases stop now. */
  const downed = new Set<string>();
  for (const op of store.unfinishedOperations()) {
    // A multi-service deploy is resumed by the controller once its services' operations are settled here.
    if (resumedIds.has(op.id) || op.kind === 'deploy-wave') continue;
    const state = op.state as Partial<BlueGreenState> | null;
    const active = store.getService(op.service).activeReleaseId;
    // A `down` (service-stop.ts) that had cleared the active release had routed to nothing: it succeeded,
    // and what of the service still runs stops below, scale_down_delay or not.
    if (op.kind === 'down' && active === null) {
      events.record({
        operationId: op.id,
        service: op.service,
        releaseId: null,
        type: 'down.succeeded',
        message: `down finished after a controller restart: ${op.service} was routed to nothing; what still ran stops now`,
      });
      ctx.lifecycle.completeOperation(op.id, op.service, 'succeeded', null, now);
      downed.add(op.service);
      continue;
    }
    const watch = watchToResume(ctx, op, active, now);
    if (watch && typeof watch !== 'string') {
      watches.push(watch);
      continue;
    }
    // The switch is persisted before the route changes: an operation whose release is active moved traffic.
    const moved =
      active !== null &&
      active === op.releaseId &&
      (op.kind !== 'deploy' ||
        state === null ||
        state.phase === 'switching' ||
        state.phase === 'watching' ||
        (state as { promoted?: boolean }).promoted === true);
    if (moved) {
      if (typeof watch === 'string') {
        events.record({
          operationId: op.id,
          service: op.service,
          releaseId: op.releaseId,
          type: 'deploy.watch-not-resumed',
          level: 'warn',
          message: `the post-promotion analysis cannot resume after the controller restart: ${watch}; the deploy is closed as succeeded without it`,
        });
      }
      events.record({
        operationId: op.id,
        service: op.service,
        releaseId: op.releaseId,
        type: `${op.kind}.succeeded`,
        message: `${op.kind} finished after a controller restart: traffic had moved to ${op.releaseId} before it stopped`,
      });
      ctx.lifecycle.completeOperation(op.id, op.service, 'succeeded', null, now);
      const service = config.services[op.service];
      if (service && op.fromReleaseId)
        toRetire.push({
          service,
          releaseId: op.fromReleaseId,
          immediately: state?.autoCleanup === true,
          operationId: op.id,
        });
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
    events.record({
      operationId: op.id,
      service: op.service,
      releaseId: op.releaseId,
      type: `${op.kind}.aborted`,
      message: error.message,
      level: 'warn',
    });
    ctx.lifecycle.completeOperation(op.id, op.service, 'aborted', error, now);
    restartAborted.add(op.id);
  }
  // A lock whose operation has an outcome is left over from a crash between the two writes.
  for (const service of [...Object.keys(config.services), '*']) {
    const lock = store.getLock(service);
    if (lock && store.getOperation(lock.operationId)?.outcome) store.releaseLock(service, lock.operationId);
  }

  // A standby release without a scale-down time was waiting for its deploy to end (the post-promotion
  // window): the resumed watch, or the retire below, gives it one; it is not stopped now.
  const waiting = new Set([...watches.map((w) => w.state.previousReleaseId), ...toRetire.map((r) => r.releaseId)]);
  for (const service of Object.values(config.services)) {
    for (const release of store.listReleases(service.name)) {
      if (release.state === 'standby') {
        const alive = adopted.filter((i) => i.releaseId === release.id);
        if (alive.length === 0) {
          store.updateRelease(release.id, { state: 'stopped', scaleDownAt: null });
          continue;
        }
        supervisor.adoptRelease(
          {
            service: withEnvFilesAfterRestart(ctx, service),
            releaseId: release.id,
            version: release.version,
            slot: release.slot,
          },
          alive,
          true,
        );
        for (const i of alive) kept.add(i.id);
        if (release.scaleDownAt === null && waiting.has(release.id)) continue;
        const at = downed.has(service.name) ? now : (release.scaleDownAt ?? now);
        ctx.lifecycle.scheduleScaleDown(service, release.id, at);
      } else if (
        (release.state === 'starting' || release.state === 'ready') &&
        resumed.get(service.name)?.state.releaseId !== release.id
      ) {
        store.updateRelease(release.id, { state: 'aborted' });
      }
    }
  }

  for (const r of toRetire) {
    if (store.getRelease(r.releaseId)?.scaleDownAt === null)
      ctx.lifecycle.retire(r.service, r.releaseId, r.immediately, r.operationId);
  }
  for (const w of watches) resume.watch(w.service, w.operation, w.state, w.switchedAt);

  // Instances of deploys that never got traffic: stop them, they serve nobody.
  await Promise.all(
    adopted
      .filter((i) => !kept.has(i.id))
      .map(async (i) => {
        await runtime.stop(i.id);
        store.deleteInstance(i.id);
      }),
  );

  // Fill up active releases that lost instances while the controller was down (in the background: routes are already up).
  // Not for a start that only takes back what runs in order to stop it (`cutover down` without a server).
  for (const service of options.fillMissing === false ? [] : Object.values(config.services)) {
    const active = ctx.lifecycle.activeRelease(service.name);
    if (!active) continue;
    const missing = service.instances - supervisor.instancesOf(active.id).length;
    if (missing > 0) {
      events.record({
        operationId: null,
        service: service.name,
        releaseId: active.id,
        type: 'instance.restarting',
        message: `restarting ${missing} missing instance(s) of the active release ${active.id}`,
        level: 'warn',
      });
      void supervisor.fillRelease(active.id);
    }
  }
  return { restartAborted };
}

interface ResumableWatch {
  service: ServiceConfig;
  operation: OperationRecord;
  state: BlueGreenState;
  switchedAt: number;
}

/**
 * Whether an unfinished operation is a blue-green deploy in its post-promotion
 * window (`watching`) to take back: what it needs, why it cannot (a string:
 * it is closed as succeeded, traffic having moved), or null when it is not one.
 */
function watchToResume(
  ctx: RunnerContext,
  op: OperationRecord,
  active: string | null,
  now: number,
): ResumableWatch | string | null {
  const state = op.state as BlueGreenState | null;
  if (op.kind !== 'deploy' || state === null || typeof state !== 'object' || state.phase !== 'watching') return null;
  if (active === null || active !== op.releaseId || state.releaseId !== op.releaseId) return null;
  const service = ctx.config.services[op.service];
  if (service?.strategy.type !== 'blue-green') return `${op.service} no longer uses the blue-green strategy`;
  if (state.postPromotion === null) return 'the deploy has no post-promotion window';
  const missing = state.postPromotion.analysis.filter((name) => !ctx.config.analysis[name]);
  if (missing.length > 0) return `the analysis template(s) ${missing.join(', ')} are no longer in the config`;
  if (ctx.store.getLock(op.service)?.operationId !== op.id)
    return `the operation no longer holds the deploy lock of ${op.service}`;
  const release = ctx.store.getRelease(op.releaseId);
  return { service, operation: op, state, switchedAt: release?.activatedAt ?? now };
}

interface ResumableCanary {
  service: ServiceConfig;
  operation: OperationRecord;
  state: CanaryState;
  ref: ReleaseRef;
  instances: InstanceInfo[];
}

/** Phases with traffic on the canary and no promotion yet: what `on_restart: resume` takes back. */
const RESUMABLE: ReadonlySet<CanaryPhase> = new Set(['stepping', 'paused', 'concluding']);

/**
 * Whether an unfinished operation is a canary rollout to resume: what it
 * needs, or why it falls back to the abort (a string, for the history), or null
 * when there is nothing to explain (not a canary, `on_restart: abort`, or
 * promoted already, which step 3 closes as moved).
 */
function canaryToResume(
  ctx: RunnerContext,
  op: OperationRecord,
  records: InstanceInfo[],
  adopted: InstanceInfo[],
): ResumableCanary | string | null {
  const state = persistedCanary(op.state);
  const service = ctx.config.services[op.service];
  if (
    op.kind !== 'deploy' ||
    state === null ||
    service?.strategy.type !== 'canary' ||
    service.strategy.onRestart !== 'resume'
  )
    return null;
  // No client was on the canary yet and its health checks would start over: deploying again costs nothing.
  if (state.phase === 'starting' || state.phase === 'verifying')
    return `the canary had no traffic yet (phase ${state.phase})`;
  if (state.promoted || !RESUMABLE.has(state.phase)) return null;
  const release = ctx.store.getRelease(state.releaseId);
  if (!release || op.releaseId !== release.id || (release.state !== 'starting' && release.state !== 'ready')) {
    return `its release ${state.releaseId} is ${release?.state ?? 'missing'}`;
  }
  const active = ctx.lifecycle.activeRelease(op.service);
  if (state.stableReleaseId === null || active?.id !== state.stableReleaseId) {
    return `the stable release ${state.stableReleaseId ?? '(none)'} is no longer the active one`;
  }
  if (ctx.store.getLock(op.service)?.operationId !== op.id)
    return `the operation no longer holds the deploy lock of ${op.service}`;
  const recorded = records.filter((r) => r.releaseId === release.id).length;
  const instances = adopted.filter((i) => i.releaseId === release.id);
  // A clean shutdown stops every instance (and forgets them); only a crash leaves the canary running.
  if (recorded === 0) return 'its canary instances were stopped with the server';
  if (instances.length < recorded)
    return `${recorded - instances.length} of its ${recorded} canary instance(s) did not survive the restart`;
  const ref: ReleaseRef = {
    service: { ...withEnvFilesAfterRestart(ctx, service), instances: service.strategy.canaryInstances },
    releaseId: release.id,
    version: release.version,
    slot: release.slot,
  };
  return { service, operation: op, state, ref, instances };
}

/** Adopts the canary's instances and hands the rollout to the runner, which routes at the persisted weight. False if that failed (it is aborted then). */
async function resumeCanary(ctx: RunnerContext, resume: RecoveryResumers, canary: ResumableCanary): Promise<boolean> {
  const { service, operation, state, ref, instances } = canary;
  ctx.supervisor.adoptRelease(ref, instances, true);
  try {
    await resume.canary(service, operation, state);
    return true;
  } catch (error) {
    // A bug here must not keep the server from starting: abort as without on_restart: resume.
    void ctx.supervisor.stopRelease(ref.releaseId);
    ctx.events.record({
      operationId: operation.id,
      service: operation.service,
      releaseId: state.releaseId,
      type: 'canary.not-resumed',
      level: 'error',
      message: addClause(
        `the canary could not resume after the controller restart: ${(error as Error).message}`,
        'it is aborted instead',
      ),
    });
    return false;
  }
}

/** The canary state the runner persisted as `{ strategy: 'canary', ...state }`, or null for anything else. */
function persistedCanary(value: unknown): CanaryState | null {
  if (value === null || typeof value !== 'object') return null;
  const { strategy, ...state } = value as { strategy?: unknown } & Partial<CanaryState>;
  if (
    strategy !== 'canary' ||
    typeof state.phase !== 'string' ||
    typeof state.releaseId !== 'string' ||
    typeof state.weight !== 'number' ||
    typeof state.stepIndex !== 'number' ||
    !Array.isArray(state.steps)
  )
    return null;
  return state as CanaryState;
}
