import type { ServiceConfig } from '../config/types.js';
import type { RunningRelease } from '../migrate/migration-plan.js';
import type { DeployPreparation, ServiceMigrations } from '../migrate/service-migrations.js';
import type { ReleaseState } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { EventLog } from './event-log.js';

/** What the hooks read and record: the releases that run, and events. */
export interface DatabaseHookContext {
  store: Store;
  events: EventLog;
}

/**
 * Where deploys meet the service's database (src/migrate): before a deploy
 * starts anything, the pending migrations are linted and the expand ones
 * applied; when a release stops, the contract migrations it was holding back
 * may run. Kept out of controller.ts, which knows strategies, not databases.
 */
const RUNNING: readonly ReleaseState[] = ['starting', 'ready', 'active', 'standby'];

export function runningReleases(
  hooks: DatabaseHookContext,
  migrations: ServiceMigrations,
  service: string,
): RunningRelease[] {
  return hooks.store
    .listReleases(service)
    .filter((release) => RUNNING.includes(release.state))
    .map((release) => ({ id: release.id, version: release.version, knownMigrations: migrations.known(release.id) }));
}

export async function prepareDatabase(
  hooks: DatabaseHookContext,
  migrations: ServiceMigrations | null,
  service: ServiceConfig,
  version: string,
  context: { operationId: string; actor: string },
): Promise<DeployPreparation | null> {
  if (!migrations || !service.database) return null;
  return migrations.beforeDeploy(service, version, runningReleases(hooks, migrations, service.name), context);
}

/** After a release stopped: contract migrations no running release predates any more run now (auto_contract). */
export async function contractAfterRetire(
  hooks: DatabaseHookContext,
  migrations: ServiceMigrations | null,
  service: ServiceConfig,
  stopped: string,
  operationId: string | null = null,
): Promise<void> {
  if (!migrations || !service.database?.autoContract) return;
  if (service.database.migrations === null && service.database.commands.contract === null) return;
  const activeId = hooks.store.getService(service.name).activeReleaseId;
  const active = activeId ? hooks.store.getRelease(activeId) : null;
  if (!active) return;
  try {
    const applied = await migrations.runContract(
      service,
      active.version,
      runningReleases(hooks, migrations, service.name),
      { operationId, actor: `auto contract after ${stopped} stopped` },
    );
    const contract = applied.filter((step) => step.phase === 'contract').map((step) => step.id);
    const expand = applied.filter((step) => step.phase === 'expand').map((step) => step.id);
    if (applied.length > 0) {
      hooks.events.record({
        operationId,
        service: service.name,
        releaseId: active.id,
        type: 'migration.contracted',
        level: contract.length > 0 ? 'warn' : 'info',
        // Said loudly: from now on, a rollback to a release older than these is refused.
        message:
          `after ${stopped} stopped: ` +
          (contract.length > 0
            ? `contract migration${contract.length === 1 ? '' : 's'} applied: ${contract.join(', ')}; releases older than ${active.version} can no longer serve against this schema (rollback to them is refused)`
            : '') +
          (expand.length > 0
            ? `${contract.length > 0 ? '; ' : ''}expand migrations applied: ${expand.join(', ')}`
            : ''),
        data: { contract, expand },
      });
    }
  } catch (error) {
    try {
      hooks.events.record({
        operationId,
        service: service.name,
        releaseId: active.id,
        type: 'migration.failed',
        level: 'error',
        message: `contract migrations after ${stopped} stopped failed: ${(error as Error).message}`,
      });
    } catch {
      // The store closed under us (the server is stopping): the migrations not run stay pending, nothing to undo.
    }
  }
}
