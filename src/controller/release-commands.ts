import type { ServiceConfig } from '../config/types.js';
import { startBlueGreen } from '../core/blue-green-strategy.js';
import { CutoverError } from '../core/errors.js';
import { findRelease, idleSlot, previousRelease } from '../core/release-selection.js';
import type { Slot } from '../core/slot.js';
import type { OperationKind, OperationRecord, ReleaseRecord } from '../store/records.js';
import type { BlueGreenRunner } from './blue-green-runner.js';
import { newOperationId } from './operation-ids.js';
import type { RunnerContext } from './runner-context.js';
import type { DeployRequest } from './strategy-runner.js';

/**
 * The commands that move traffic between releases that exist already, for
 * every strategy (and `retry`, which deploys a failed version again): `switch` to a slot, `rollback` (instant while the previous
 * release is standby, else a blue-green run of it in the idle slot), and
 * `cleanup` of standby releases.
 */
export class ReleaseCommands {
  constructor(
    private readonly ctx: RunnerContext,
    private readonly blueGreen: BlueGreenRunner,
    /** The controller's own commands: a switch to the slot of a ready deploy promotes it; a retry deploys again. */
    private readonly controller: {
      promote(name: string, actor: string): Promise<OperationRecord>;
      deploy(name: string, request: DeployRequest): Promise<OperationRecord>;
    },
  ) {}

  /** Deploys again the version whose last deploy was aborted or failed (Argo's `retry`), from the first step. */
  async retry(name: string, actor: string): Promise<OperationRecord> {
    const { store } = this.ctx;
    this.ctx.service(name);
    const last = store.listOperations(name, 20).find((op) => op.kind === 'deploy');
    if (!last || (last.outcome !== 'aborted' && last.outcome !== 'failed') || !last.releaseId) {
      throw new CutoverError(
        'INVALID_STATE',
        last?.outcome === null
          ? `the last deploy of ${name} is still running`
          : `the last deploy of ${name} did not fail or abort; nothing to retry`,
        { hint: `Deploy a version with \`cutover deploy ${name} --version <v>\`.` },
      );
    }
    const release = store.getRelease(last.releaseId);
    if (!release) throw new CutoverError('RELEASE_NOT_FOUND', `release ${last.releaseId} of ${name} is gone`);
    return this.controller.deploy(name, { version: release.version, actor });
  }

  /** `switch <service> <slot>`: promotes a ready deploy in that slot, or moves traffic back to the standby release there. */
  async switchTo(name: string, slot: Slot, actor: string): Promise<OperationRecord> {
    const { ctx } = this;
    const service = ctx.service(name);
    const run = this.blueGreen.running(name);
    if (run && run.state.phase === 'ready' && run.state.slot === slot) return this.controller.promote(name, actor);
    const active = ctx.lifecycle.activeRelease(name);
    if (active && active.slot === slot)
      throw new CutoverError('INVALID_STATE', `slot ${slot} is already active (${active.version}, ${active.id})`);
    const standby = ctx.store
      .listReleases(name)
      .find((r) => r.slot === slot && r.state === 'standby' && ctx.supervisor.isRunning(r.id));
    if (!standby) {
      throw new CutoverError('INVALID_STATE', `nothing is running in slot ${slot} of ${name}`, {
        hint: `Deploy to it first (\`cutover deploy ${name} --version <v>\`) or roll back with \`cutover rollback ${name}\`.`,
      });
    }
    return this.instantSwitch(service, 'switch', standby, actor);
  }

  async rollback(name: string, options: { to?: string; actor: string }): Promise<OperationRecord> {
    const { ctx } = this;
    const service = ctx.service(name);
    const active = ctx.lifecycle.activeRelease(name);
    const releases = ctx.store.listReleases(name);
    let target: ReleaseRecord | null;
    if (options.to) {
      target = findRelease(releases, options.to);
      if (!target) throw new CutoverError('RELEASE_NOT_FOUND', `no release '${options.to}' of ${name}`);
    } else {
      target = previousRelease(releases, active?.id ?? null);
      if (!target) throw new CutoverError('NOTHING_TO_ROLL_BACK', `${name} has no earlier release to roll back to`);
    }
    if (active && target.id === active.id)
      throw new CutoverError('INVALID_STATE', `${target.id} (${target.version}) is already active`);
    if (target.state === 'pruned')
      throw new CutoverError(
        'RELEASE_NOT_FOUND',
        `${target.id} is past the rollback limit (${service.rollbackLimit}) and was pruned`,
      );
    if (target.activatedAt === null || target.state === 'failed' || target.state === 'aborted') {
      throw new CutoverError(
        'INVALID_STATE',
        `${target.id} (${target.version}) never served traffic (${target.state}); roll back to a release that did`,
      );
    }
    // The post-promotion window holds the deploy lock; a person who rolls back in it ends the watch first.
    await this.blueGreen.endWatch(name, `rolled back by ${options.actor} during the post-promotion window`);
    if (target.state === 'standby' && ctx.supervisor.isRunning(target.id)) {
      return this.instantSwitch(service, 'rollback', target, options.actor);
    }
    // The old slot is gone: start the release again in the idle slot and switch once healthy.
    const now = ctx.clock.now();
    const operationId = newOperationId(now);
    ctx.store.acquireLock(name, operationId, options.actor, now);
    try {
      const slot = idleSlot(active);
      ctx.store.updateRelease(target.id, { state: 'starting', slot, error: null });
      const transition = startBlueGreen(
        {
          releaseId: target.id,
          slot,
          previousReleaseId: active?.id ?? null,
          autoSwitch: true,
          autoCleanup: false,
          skipHealth: false,
          smokeChecks: service.strategy.type === 'blue-green' ? service.strategy.smoke.length : 0,
          deployTimeoutMs: service.strategy.deployTimeoutMs,
        },
        now,
      );
      return this.blueGreen.launch(
        service,
        'rollback',
        options.actor,
        operationId,
        { ...target, slot },
        active,
        transition,
        true,
      );
    } catch (error) {
      ctx.store.releaseLock(name, operationId);
      throw error;
    }
  }

  /** Stops standby releases now instead of at the end of scale_down_delay. */
  async cleanup(name: string, actor: string): Promise<OperationRecord> {
    const { ctx } = this;
    const service = ctx.service(name);
    const now = ctx.clock.now();
    const operationId = newOperationId(now);
    ctx.store.acquireLock(name, operationId, actor, now);
    const active = ctx.lifecycle.activeRelease(name);
    const operation = ctx.store.createOperation({
      id: operationId,
      service: name,
      kind: 'cleanup',
      releaseId: active?.id ?? null,
      fromReleaseId: null,
      actor,
      phase: 'stopping',
      state: null,
      startedAt: now,
    });
    try {
      const standby = ctx.store.listReleases(name).filter((r) => r.state === 'standby');
      for (const release of standby) await ctx.lifecycle.scaleDown(service, release.id, operationId);
      ctx.events.record({
        operationId,
        service: name,
        releaseId: null,
        type: 'cleanup.succeeded',
        message: standby.length ? `stopped ${standby.map((r) => r.id).join(', ')}` : 'no standby release was running',
      });
      ctx.lifecycle.completeOperation(operationId, name, 'succeeded', null, ctx.clock.now());
    } catch (error) {
      ctx.lifecycle.completeOperation(
        operationId,
        name,
        'failed',
        { code: 'INTERNAL', message: String(error) },
        ctx.clock.now(),
      );
      throw error;
    }
    return ctx.store.getOperation(operation.id)!;
  }

  /** Moves traffic to a release that is running and healthy already (switch back, or rollback within the window). */
  private async instantSwitch(
    service: ServiceConfig,
    kind: OperationKind,
    target: ReleaseRecord,
    actor: string,
  ): Promise<OperationRecord> {
    const { ctx } = this;
    const now = ctx.clock.now();
    const operationId = newOperationId(now);
    ctx.store.acquireLock(service.name, operationId, actor, now);
    const active = ctx.lifecycle.activeRelease(service.name);
    try {
      const healthy = ctx.supervisor.instancesOf(target.id).filter((i) => i.status === 'healthy').length;
      if (healthy === 0) {
        throw new CutoverError(
          'INVALID_STATE',
          `no instance of ${target.id} in slot ${target.slot} is healthy; traffic was not moved`,
        );
      }
      ctx.store.createOperation({
        id: operationId,
        service: service.name,
        kind,
        releaseId: target.id,
        fromReleaseId: active?.id ?? null,
        actor,
        phase: 'switching',
        state: null,
        startedAt: now,
      });
      await ctx.lifecycle.switchTraffic(service, target, operationId);
      if (active) ctx.lifecycle.retire(service, active.id, false, operationId);
      ctx.events.record({
        operationId,
        service: service.name,
        releaseId: target.id,
        type: `${kind}.succeeded`,
        message: `${kind} succeeded: ${target.version} (${target.id}) serves ${service.name} from slot ${target.slot}`,
      });
      ctx.lifecycle.completeOperation(operationId, service.name, 'succeeded', null, ctx.clock.now());
      return ctx.store.getOperation(operationId)!;
    } catch (error) {
      if (ctx.store.getOperation(operationId)) {
        const e = error as CutoverError;
        ctx.lifecycle.completeOperation(
          operationId,
          service.name,
          'failed',
          { code: e.code ?? 'INTERNAL', message: e.message },
          ctx.clock.now(),
        );
      } else {
        ctx.store.releaseLock(service.name, operationId);
      }
      throw error;
    }
  }
}
