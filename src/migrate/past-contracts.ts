import type { BackupRecord } from '../store/backup-store.js';
import type { AppliedMigration } from './migration-plan.js';

/**
 * What a refusal to go back past contract migrations says, shared by the
 * rollback's check (release-commands) and a deploy of an older version
 * (unknown-contracts): which migrations, and the backup from before them.
 */

/** `0003_drop_x (applied <iso> by <who>), …`. */
export function describeApplied(migrations: readonly AppliedMigration[]): string {
  return migrations.map((m) => `${m.id} (applied ${m.appliedAt.toISOString()} by ${m.appliedBy})`).join(', ');
}

/** The newest backup taken before the first of the migrations ran (`backups` newest first), or null. */
export function backupBefore(
  backups: readonly BackupRecord[],
  migrations: readonly AppliedMigration[],
): BackupRecord | null {
  const first = Math.min(...migrations.map((m) => m.appliedAt.getTime()));
  return backups.find((b) => b.createdAt <= first) ?? null;
}

/** The restore sentence of the hint: `Restore the backup taken before it (…): \`cutover db restore …\``. */
export function restoreCommand(service: string, backup: BackupRecord): string {
  return `Restore the backup taken before it (${backup.label}, ${new Date(backup.createdAt).toISOString()}): \`cutover db restore ${service} --backup ${backup.label}\``;
}
