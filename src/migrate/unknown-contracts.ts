import { CutoverError } from '../core/errors.js';
import type { BackupRecord } from '../store/backup-store.js';
import type { AppliedMigration } from './migration-plan.js';
import { backupBefore, describeApplied, restoreCommand } from './past-contracts.js';

/**
 * A deploy of a version whose own migrations directory (`database.migrations` with `${VERSION}`) lacks a
 * contract migration the database has applied: the version predates it, as a rollback's target would, and
 * would run against a schema without what the migration removed. `cutover rollback` refuses that
 * (ROLLBACK_PAST_CONTRACT); `cutover deploy --version <old>`, the next thing a person tries, went through.
 * The deploy is refused the same way, before anything starts, with the same two ways out. A shared
 * directory says nothing about what a version knows (files may be pruned after a squash): not checked.
 *
 * Null when the version knows every applied contract migration.
 */
export function unknownContractsRefusal(options: {
  service: string;
  version: string;
  directory: string;
  /** The applied migrations whose file the version's directory does not have. */
  missing: readonly AppliedMigration[];
  /** The service's backups, newest first. */
  backups: readonly BackupRecord[];
}): CutoverError | null {
  const contracts = options.missing.filter((m) => m.phase === 'contract');
  if (contracts.length === 0) return null;
  const { service, version, directory } = options;
  const many = contracts.length > 1;
  const names = describeApplied(contracts);
  const backup = backupBefore(options.backups, contracts);
  return new CutoverError(
    'ROLLBACK_PAST_CONTRACT',
    `${version} predates the contract migration${many ? 's' : ''} ${names}: its migrations (${directory}) do not have ${many ? 'them' : 'it'}, ` +
      `so it would run against a schema without what ${many ? 'they' : 'it'} removed; the deploy did not start`,
    {
      hint:
        (backup
          ? `${restoreCommand(service, backup)}, then deploy again; or deploy a version that has ${many ? 'them' : 'it'}. `
          : `No backup from before it is kept: deploy a version that has ${many ? 'them' : 'it'}. `) +
        `If ${version} does not use what ${many ? 'they' : 'it'} removed, copy the file${many ? 's' : ''} into ${directory}/contract/, so ${version} knows ${many ? 'them' : 'it'}.`,
    },
  );
}
