import { withEnvFiles } from '../config/env-files.js';
import type { ServiceConfig } from '../config/types.js';
import { startBlueGreen } from '../core/blue-green-strategy.js';
import type { Clock, ClockTimer } from '../core/clock.js';
import { CutoverError } from '../core/errors.js';
import { findRelease, idleSlot, newerServedReleases, previousRelease } from '../core/release-selection.js';
import type { Slot } from '../core/slot.js';
import { describeApplied, restoreCommand } from '../migrate/past-contracts.js';
import type { OperationKind, OperationRecord, ReleaseRecord } from '../store/records.js';
import type { BlueGreenRunner } from './blue-green-runner.js';
import type { NewEvent } from './event-log.js';
import { newOperationId } from './operation-ids.js';
import type { RunnerContext } from './runner-context.js';
import type { DeployRequest } from './strategy-runner.js';

/** `--force --reason`: move traffic to a release older than an applied contract migration anyway, recorded. */
export interface ContractOverride {
  force?: boolean;
  reason?: string;
}

/** How long the check of the database's migration history may take before a rollback is refused for it. */
const CONTRACT_CHECK_TIMEOUT_MS = 10_000;

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
  async switchTo(name: string, slot: Slot, actor: string, override: ContractOverride = {}): Promise<OperationRecord> {
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
    const forced = await this.refusePastContract(service, 'switch', standby, { ...override, actor });
    return this.instantSwitch(service, 'switch', standby, actor, forced);
  }

  async rollback(name: string, options: { to?: string; actor: string } & ContractOverride): Promise<OperationRecord> {
    const { ctx } = this;
    const service = ctx.service(name);
    assertOverride(options);
    const active = ctx.lifecycle.activeRelease(name);
    const releases = ctx.store.listReleases(name);
    let target: ReleaseRecord | null;
    if (options.to) {
      target = findRelease(releases, options.to);
      if (!target) throw new CutoverError('RELEASE_NOT_FOUND', `no release '${options.to}' of ${name}`);
    } else {
      target = previousRelease(releases, active);
      if (!target) {
        const newer = active ? newerServedReleases(releases, active) : [];
        throw new CutoverError(
          'NOTHING_TO_ROLL_BACK',
          `${name} has no release older than ${active ? `${active.version} (${active.id})` : 'the current one'} to roll back to`,
          newer.length > 0
            ? {
                hint: `A rollback never goes forward; ${newer.map((r) => `${r.version} (${r.id})`).join(', ')} ${newer.length === 1 ? 'is' : 'are'} newer: \`cutover rollback ${name} --to ${newer[0]!.id}\` returns to it.`,
              }
            : undefined,
        );
      }
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
    const forced = await this.refusePastContract(service, 'rollback', target, options);
    // The post-promotion window holds the deploy lock; a person who rolls back in it ends the watch first.
    await this.blueGreen.endWatch(name, `rolled back by ${options.actor} during the post-promotion window`);
    if (target.state === 'standby' && ctx.supervisor.isRunning(target.id)) {
      return this.instantSwitch(service, 'rollback', target, options.actor, forced);
    }
    // The old slot is gone: start the release again in the idle slot and switch once healthy, with the
    // env files read now, as a deploy reads them (a missing one refuses the rollback before the lock).
    const started = withEnvFiles(service).service;
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
      const operation = this.blueGreen.launch(
        started,
        'rollback',
        options.actor,
        operationId,
        { ...target, slot },
        active,
        transition,
        true,
      );
      if (forced) ctx.events.record({ ...forced, operationId });
      return operation;
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

  /**
   * Refuses to move traffic to a release older than an applied contract
   * migration: it would run against a schema without what it may use. The
   * database's own history decides, so restoring the backup taken before the
   * migration clears the way; `--force` with a reason goes anyway, recorded.
   */
  private async refusePastContract(
    service: ServiceConfig,
    kind: 'rollback' | 'switch',
    target: ReleaseRecord,
    options: { actor: string } & ContractOverride,
  ): Promise<ForcedNote | null> {
    assertOverride(options);
    const migrations = this.ctx.migrations();
    if (!migrations || !service.database) return null;
    const command = `cutover ${kind === 'rollback' ? `rollback ${service.name} --to ${target.id}` : `switch ${service.name} ${target.slot}`}`;
    let past: Awaited<ReturnType<typeof migrations.contractsPastRelease>>;
    try {
      past = await withinTime(
        this.ctx.clock,
        migrations.contractsPastRelease(service, target),
        CONTRACT_CHECK_TIMEOUT_MS,
      );
    } catch (error) {
      const why = (error as Error).message;
      if (!options.force) {
        throw new CutoverError(
          'DATABASE_UNREACHABLE',
          `cannot check the contract migrations of ${service.name} before the ${kind} to ${target.version} (${target.id}): ${why}`,
          {
            hint: `Fix the database or database.url and run it again; if you know the schema still fits ${target.version}, \`${command} --force --reason "<why>"\` goes without the check (recorded).`,
          },
        );
      }
      return forcedNote(service, kind, target, options, `without checking its contract migrations (${why})`, []);
    }
    if (past.migrations.length === 0) return null;
    const names = describeApplied(past.migrations);
    if (options.force) {
      return forcedNote(
        service,
        kind,
        target,
        options,
        `past contract migration${past.migrations.length === 1 ? '' : 's'} ${names}`,
        past.migrations.map((m) => m.id),
      );
    }
    const backup = past.backup;
    throw new CutoverError(
      'ROLLBACK_PAST_CONTRACT',
      `${target.version} (${target.id}) predates the contract migration${past.migrations.length === 1 ? '' : 's'} ${names}: ` +
        `${past.migrations.length === 1 ? 'it removed' : 'they removed'} what ${target.version} may use, so it would run against a schema it does not know; traffic was not moved`,
      {
        hint:
          (backup
            ? `${restoreCommand(service.name, backup)}, then run \`${command}\` again. `
            : `No backup from before it is kept. `) +
          `Or go anyway, recorded: \`${command} --force --reason "<why>"\`.`,
      },
    );
  }

  /** Moves traffic to a release that is running and healthy already (switch back, or rollback within the window). */
  private async instantSwitch(
    service: ServiceConfig,
    kind: OperationKind,
    target: ReleaseRecord,
    actor: string,
    forced: ForcedNote | null = null,
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
      // Said before traffic moves, so whoever follows the operation reads which release it picked first.
      ctx.events.record({
        operationId,
        service: service.name,
        releaseId: target.id,
        type: `${kind}.started`,
        message: `${kind} of ${service.name} from ${active ? `${active.version} (${active.id})` : 'nothing'} to ${target.version} (${target.id}), standby in slot ${target.slot}: traffic moves now; started by ${actor}`,
        data: { version: target.version, slot: target.slot, from: active?.id ?? null },
      });
      if (forced) ctx.events.record({ ...forced, operationId });
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

/** The event that records a forced rollback or switch, written into its operation once that exists. */
type ForcedNote = Omit<NewEvent, 'operationId'>;

function forcedNote(
  service: ServiceConfig,
  kind: 'rollback' | 'switch',
  target: ReleaseRecord,
  options: { actor: string } & ContractOverride,
  what: string,
  migrations: string[],
): ForcedNote {
  return {
    service: service.name,
    releaseId: target.id,
    type: `${kind}.forced`,
    level: 'warn',
    message: `${kind} to ${target.version} (${target.id}) forced by ${options.actor} ${what}; reason: ${options.reason}`,
    data: { reason: options.reason ?? null, migrations },
  };
}

/** `--force` must say why (it is recorded); a reason alone forces nothing, so it is refused as a likely typo. */
function assertOverride(override: ContractOverride): void {
  if (override.force && !override.reason?.trim())
    throw new CutoverError('BAD_REQUEST', 'force: say why with a reason (--reason "<why>"); it is recorded');
  if (!override.force && override.reason !== undefined)
    throw new CutoverError('BAD_REQUEST', 'reason: only goes with force (--force --reason "<why>")');
}

/** The work's result, or an error once `ms` have passed (the work itself is left to finish on its own). */
async function withinTime<T>(clock: Clock, work: Promise<T>, ms: number): Promise<T> {
  let timer: ClockTimer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.schedule(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    timer?.cancel();
  }
}
