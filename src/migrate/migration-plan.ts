import type { MigrationFile, MigrationPhase } from './migration-files.js';

/**
 * What to do with a service's migrations, decided from what is on disk,
 * what the database's history table says and which releases run. Pure.
 *
 * A contract migration (it removes what old code uses) runs only when every
 * running release already knew it: each release records, when it is
 * deployed, the migrations its directory held. A running release that did
 * not know the migration is older than it, so the migration waits, blocked,
 * until that release is retired.
 */
export interface AppliedMigration {
  id: string;
  checksum: string;
  phase: MigrationPhase;
  appliedAt: Date;
  appliedBy: string;
  release: string | null;
}

export interface RunningRelease {
  id: string;
  version: string;
  /** The migration ids its directory held when it was deployed; null when unknown (deployed before cutover tracked it). */
  knownMigrations: readonly string[] | null;
}

export interface PlannedMigration {
  id: string;
  phase: MigrationPhase;
  state: 'applied' | 'pending' | 'blocked' | 'changed' | 'missing';
  /** Why it is blocked, changed or missing. */
  reason: string | null;
  appliedAt: Date | null;
}

export interface MigrationPlan {
  migrations: PlannedMigration[];
  /** Pending expand migrations, in order: what a deploy runs before the new release starts. */
  expand: MigrationFile[];
  /** Pending contract migrations whose older releases are all gone, in order. */
  contract: MigrationFile[];
  /** Applied migrations whose file changed since: nothing may run until this is empty. */
  changed: string[];
}

export function planMigrations(
  files: readonly MigrationFile[],
  applied: readonly AppliedMigration[],
  running: readonly RunningRelease[],
): MigrationPlan {
  const appliedById = new Map(applied.map((entry) => [entry.id, entry]));
  const migrations: PlannedMigration[] = [];
  const expand: MigrationFile[] = [];
  const contract: MigrationFile[] = [];
  const changed: string[] = [];
  // Order matters: a migration never runs before an earlier pending one, so a blocked contract migration holds back later contract ones.
  let contractBlocked = false;
  for (const file of files) {
    const done = appliedById.get(file.id);
    if (done) {
      if (done.checksum !== file.checksum) {
        changed.push(file.id);
        migrations.push({
          id: file.id,
          phase: file.phase,
          state: 'changed',
          reason: `the file changed after it was applied on ${done.appliedAt.toISOString()} (checksum ${done.checksum.slice(0, 12)}, now ${file.checksum.slice(0, 12)})`,
          appliedAt: done.appliedAt,
        });
      } else {
        migrations.push({ id: file.id, phase: file.phase, state: 'applied', reason: null, appliedAt: done.appliedAt });
      }
      continue;
    }
    if (file.phase === 'expand') {
      expand.push(file);
      migrations.push({ id: file.id, phase: 'expand', state: 'pending', reason: null, appliedAt: null });
      continue;
    }
    const older = running.filter(
      (release) => release.knownMigrations === null || !release.knownMigrations.includes(file.id),
    );
    if (contractBlocked || older.length > 0) {
      const reason =
        older.length > 0
          ? `${older.map((r) => `release ${r.id} (${r.version})`).join(', ')} still run${older.length === 1 ? 's' : ''} and predate${older.length === 1 ? 's' : ''} it; it runs once ${older.length === 1 ? 'that release is' : 'they are'} retired`
          : 'an earlier contract migration is blocked';
      contractBlocked = true;
      migrations.push({ id: file.id, phase: 'contract', state: 'blocked', reason, appliedAt: null });
      continue;
    }
    contract.push(file);
    migrations.push({ id: file.id, phase: 'contract', state: 'pending', reason: null, appliedAt: null });
  }
  for (const entry of applied) {
    if (!files.some((file) => file.id === entry.id)) {
      migrations.push({
        id: entry.id,
        phase: entry.phase,
        state: 'missing',
        reason: 'applied, but its file is no longer in the migrations directory',
        appliedAt: entry.appliedAt,
      });
    }
  }
  return { migrations, expand, contract, changed };
}

/**
 * The applied contract migrations a release predates: it did not know them
 * when it was deployed, so they removed what it may use, and the release
 * must not serve again against this schema. A release deployed before
 * cutover tracked its migrations predates every contract applied after it
 * was created.
 */
export function contractsPredatedBy(
  applied: readonly AppliedMigration[],
  release: { knownMigrations: readonly string[] | null; createdAt: number },
): AppliedMigration[] {
  return applied.filter(
    (entry) =>
      entry.phase === 'contract' &&
      (release.knownMigrations === null
        ? entry.appliedAt.getTime() > release.createdAt
        : !release.knownMigrations.includes(entry.id)),
  );
}
