import { formatBytes } from '../core/format-bytes.js';
import type { DatabaseConfig, ServiceConfig } from '../config/types.js';
import { CutoverError } from '../core/errors.js';
import type { BackupRecord, BackupStore } from '../store/backup-store.js';
import { createBackup, databaseName, restoreBackup } from './pg-backup.js';
import { readMigrationDirectory, readMigrations, type MigrationFile } from './migration-files.js';
import { runMigrationCommand } from './migration-command.js';
import { backupBefore } from './past-contracts.js';
import { unknownContractsRefusal } from './unknown-contracts.js';
import {
  contractsPredatedBy,
  planMigrations,
  type AppliedMigration,
  type MigrationPlan,
  type RunningRelease,
} from './migration-plan.js';
import { migratorApplicationName, PgMigrator, type MigrationProgress, type MigratorSettings } from './pg-migrator.js';
import type { BackupKind } from '../core/backup-retention.js';

/**
 * A service's database as the controller sees it: what a deploy does before
 * the new release starts (lint the pending migrations, back up, apply the
 * expand ones), what retiring an old release allows (the contract ones), and
 * the status, backups and restores the API offers. The controller passes
 * the releases that run; this module knows nothing of strategies.
 */
export interface LintProblem {
  rule: string;
  severity: 'error' | 'warning';
  file: string;
  line: number;
  column: number;
  message: string;
}

/** How cutover's runner runs each migration file, as far as the linter needs to know it. */
export interface MigrationRunSettings {
  /** database.lock_timeout: set before each file, so a file needs no SET lock_timeout of its own. */
  lockTimeoutMs: number;
  /** database.statement_timeout: set before each file too; absent: the linter assumes none. */
  statementTimeoutMs?: number;
  /** The service's database: the linter reads its catalog (read-only) to drop false alarms and rank by table size. */
  databaseUrl?: string;
}

/** The migration linter (src/migrate/lint): findings for the given files (in the order they run), each in its phase. */
export type MigrationLinter = (files: readonly MigrationFile[], runner: MigrationRunSettings) => Promise<LintProblem[]>;

export interface ServiceMigrationsDeps {
  backups: BackupStore;
  stateDir: string;
  /** Where pg_dump and pg_restore are (PG_BIN); PATH when null. */
  pgBinDir: string | null;
  lint: MigrationLinter | null;
  record: (event: {
    operationId: string | null;
    service: string;
    releaseId: string | null;
    type: string;
    message: string;
    data?: unknown;
    level?: 'info' | 'warn' | 'error';
  }) => void;
}

export interface DeployPreparation {
  /** The ids the new release's migrations directory holds: recorded with the release. */
  known: string[];
  applied: string[];
  backup: BackupRecord | null;
}

/** One migration applied by `runContract`, or the team's contract command. */
export interface AppliedStep {
  id: string;
  phase: 'expand' | 'contract';
}

export interface MigrationStatus {
  database: string;
  directory: string;
  plan: MigrationPlan;
  /** `.sql` files under the directory that are never run (readMigrationDirectory). */
  ignored: string[];
}

export class ServiceMigrations {
  constructor(private readonly deps: ServiceMigrationsDeps) {}

  /** Records which migrations a release's directory held when it was deployed. */
  recordKnown(releaseId: string, ids: readonly string[]): void {
    this.deps.backups.setReleaseMigrations(releaseId, ids);
  }

  known(releaseId: string): string[] | null {
    return this.deps.backups.releaseMigrations(releaseId);
  }

  /**
   * What stands between a kept release and serving again: the applied
   * contract migrations it predates (read from the database's own history,
   * so restoring a backup from before them clears the way), and the newest
   * backup taken before the first of them. Empty when the service's
   * migrations are not cutover's (no directory): a team's own tool keeps its
   * own history.
   */
  async contractsPastRelease(
    service: ServiceConfig,
    release: { id: string; createdAt: number },
  ): Promise<{ migrations: AppliedMigration[]; backup: BackupRecord | null }> {
    const database = service.database;
    if (!database || database.migrations === null) return { migrations: [], backup: null };
    const migrator = await PgMigrator.connect(database.url, migratorApplicationName(`rollback check ${service.name}`));
    let applied: AppliedMigration[];
    try {
      applied = await migrator.applied();
    } finally {
      await migrator.close();
    }
    const migrations = contractsPredatedBy(applied, {
      knownMigrations: this.known(release.id),
      createdAt: release.createdAt,
    });
    if (migrations.length === 0) return { migrations, backup: null };
    return { migrations, backup: backupBefore(this.deps.backups.list(service.name), migrations) };
  }

  /** The migrations directory of a version (`${VERSION}` in the path is the version being deployed). */
  directoryFor(database: DatabaseConfig, version: string): string | null {
    return database.migrations === null ? null : database.migrations.replaceAll('${VERSION}', version);
  }

  async status(service: ServiceConfig, version: string, running: readonly RunningRelease[]): Promise<MigrationStatus> {
    const database = requireDatabase(service);
    const directory = this.directoryFor(database, version);
    if (directory === null)
      throw new CutoverError('BAD_REQUEST', `${service.name} has no database.migrations directory`);
    const { files, ignored } = readMigrationDirectory(directory);
    const migrator = await PgMigrator.connect(database.url, migratorApplicationName('status'));
    try {
      return {
        database: databaseName(database.url),
        directory,
        plan: planMigrations(files, await migrator.applied(), running),
        ignored,
      };
    } finally {
      await migrator.close();
    }
  }

  /**
   * Before a deploy starts anything: every pending migration of the new
   * version is linted (an error stops the deploy), an edited applied one stops
   * it too, then a backup is made and the pending expand migrations run.
   */
  async beforeDeploy(
    service: ServiceConfig,
    version: string,
    running: readonly RunningRelease[],
    context: { operationId: string; actor: string },
  ): Promise<DeployPreparation> {
    const database = service.database;
    if (!database) return { known: [], applied: [], backup: null };
    const prepared = await this.sqlBeforeDeploy(service, database, version, running, context);
    if (database.commands.expand !== null) {
      if (prepared.backup === null && database.backupBeforeDeploy)
        prepared.backup = await this.backup(service, `pre-${version}`, null, context.actor, context.operationId, {
          kind: 'automatic',
          expiresAt: null,
        });
      await this.runTool(service, database, 'expand', version, context.operationId);
    }
    return prepared;
  }

  private async sqlBeforeDeploy(
    service: ServiceConfig,
    database: DatabaseConfig,
    version: string,
    running: readonly RunningRelease[],
    context: { operationId: string; actor: string },
  ): Promise<DeployPreparation> {
    const directory = this.directoryFor(database, version);
    if (directory === null) return { known: [], applied: [], backup: null };
    const { files, ignored } = readMigrationDirectory(directory);
    if (ignored.length > 0)
      this.deps.record({
        operationId: context.operationId,
        service: service.name,
        releaseId: null,
        type: 'migration.ignored',
        level: 'warn',
        message: `${ignoredText(ignored)} in ${directory} ${ignored.length === 1 ? 'is' : 'are'} not run: only .sql files at its top and in its expand/ and contract/ folders are migrations`,
        data: { directory, files: ignored },
      });
    const migrator = await PgMigrator.connect(
      database.url,
      migratorApplicationName(`deploy ${service.name} ${version}`),
    );
    try {
      const applied = await migrator.applied();
      const plan = planMigrations(files, applied, running);
      if (plan.changed.length > 0) {
        throw new CutoverError(
          'MIGRATION_CHECKSUM_MISMATCH',
          `applied migration${plan.changed.length > 1 ? 's' : ''} ${plan.changed.join(', ')} changed since ${plan.changed.length > 1 ? 'they were' : 'it was'} applied; the deploy did not start`,
        );
      }
      if (database.migrations?.includes('${VERSION}') === true) {
        const refused = unknownContractsRefusal({
          service: service.name,
          version,
          directory,
          missing: applied.filter((m) => !files.some((file) => file.id === m.id)),
          backups: this.deps.backups.list(service.name),
        });
        if (refused) throw refused;
      }
      const pending = files.filter((file) =>
        plan.migrations.some((m) => m.id === file.id && (m.state === 'pending' || m.state === 'blocked')),
      );
      if (database.lint && this.deps.lint && pending.length > 0)
        await this.lintOrRefuse(
          service,
          pending,
          {
            lockTimeoutMs: database.lockTimeoutMs,
            statementTimeoutMs: database.statementTimeoutMs,
            databaseUrl: database.url,
          },
          context.operationId,
        );
      if (plan.expand.length > 0) {
        const backup = database.backupBeforeDeploy
          ? await this.backup(service, `pre-${version}`, null, context.actor, context.operationId, {
              kind: 'automatic',
              expiresAt: null,
            })
          : null;
        const applied = await migrator.apply(
          plan.expand,
          settings(database, `deploy of ${service.name} ${version} by ${context.actor}`, null),
          this.progress(service.name, context.operationId),
        );
        return { known: files.map((f) => f.id), applied, backup };
      }
      return { known: files.map((f) => f.id), applied: [], backup: null };
    } finally {
      await migrator.close();
    }
  }

  /**
   * Runs the contract migrations no running release predates any more (after
   * a release was retired, or on request), and the pending expand ones before
   * them. Says which were contract: they are the ones that end rollback to
   * older releases.
   */
  async runContract(
    service: ServiceConfig,
    version: string,
    running: readonly RunningRelease[],
    context: { operationId: string | null; actor: string },
  ): Promise<AppliedStep[]> {
    const database = requireDatabase(service);
    const applied = await this.sqlContract(service, database, version, running, context);
    // The tool keeps its own history: cutover only knows that no older release may run while it contracts.
    if (database.commands.contract !== null && running.every((release) => release.version === version)) {
      await this.runTool(service, database, 'contract', version, context.operationId);
      applied.push({ id: `command: ${database.commands.contract}`, phase: 'contract' });
    }
    return applied;
  }

  private async sqlContract(
    service: ServiceConfig,
    database: DatabaseConfig,
    version: string,
    running: readonly RunningRelease[],
    context: { operationId: string | null; actor: string },
  ): Promise<AppliedStep[]> {
    const directory = this.directoryFor(database, version);
    if (directory === null) return [];
    const files = readMigrations(directory);
    const migrator = await PgMigrator.connect(database.url, migratorApplicationName(`contract ${service.name}`));
    try {
      const plan = planMigrations(files, await migrator.applied(), running);
      if (plan.changed.length > 0)
        throw new CutoverError(
          'MIGRATION_CHECKSUM_MISMATCH',
          `applied migrations ${plan.changed.join(', ')} changed since they were applied`,
        );
      // Expand migrations first: a contract migration may rely on an earlier expand one.
      const runnable = [...plan.expand, ...plan.contract].sort((a, b) => (a.id < b.id ? -1 : 1));
      if (runnable.length === 0) return [];
      const done = await migrator.apply(
        runnable,
        settings(database, `${context.actor}`, null),
        this.progress(service.name, context.operationId),
      );
      return done.map((id) => ({ id, phase: runnable.find((file) => file.id === id)?.phase ?? 'expand' }));
    } finally {
      await migrator.close();
    }
  }

  /** The team's own tool, under the same advisory lock as cutover's own migrations. */
  private async runTool(
    service: ServiceConfig,
    database: DatabaseConfig,
    phase: 'expand' | 'contract',
    version: string,
    operationId: string | null,
  ): Promise<void> {
    const command = database.commands[phase]!;
    const migrator = await PgMigrator.connect(
      database.url,
      migratorApplicationName(`${phase} command ${service.name}`),
    );
    try {
      this.deps.record({
        operationId,
        service: service.name,
        releaseId: null,
        type: 'migration.started',
        message: `running the ${phase} command: ${command}`,
      });
      const result = await migrator.withLock(
        { lockWaitMs: database.waitForLockMs },
        () =>
          runMigrationCommand({
            command,
            cwd: service.cwd,
            timeoutMs: database.statementTimeoutMs,
            inheritEnv: service.inheritEnv,
            env: { DATABASE_URL: database.url, VERSION: version, CUTOVER_SERVICE: service.name, CUTOVER_PHASE: phase },
          }),
        this.progress(service.name, operationId),
      );
      this.deps.record({
        operationId,
        service: service.name,
        releaseId: null,
        type: 'migration.applied',
        message: `the ${phase} command finished in ${result.durationMs} ms${result.output ? `: ${result.output.split('\n').slice(-3).join(' | ')}` : ''}`,
      });
    } finally {
      await migrator.close();
    }
  }

  async backup(
    service: ServiceConfig,
    label: string,
    releaseId: string | null,
    actor: string,
    operationId: string | null,
    retention: { kind: BackupKind; expiresAt: number | null },
  ): Promise<BackupRecord> {
    const database = requireDatabase(service);
    let unique = label;
    for (let n = 2; this.deps.backups.find(service.name, unique); n++) unique = `${label}-${n}`;
    const { backup, pruned } = await createBackup(
      { store: this.deps.backups, stateDir: this.deps.stateDir, binDir: this.deps.pgBinDir },
      {
        service: service.name,
        url: database.url,
        label: unique,
        releaseId,
        actor,
        keep: database.backupsKept,
        ...retention,
      },
    );
    this.deps.record({
      operationId,
      service: service.name,
      releaseId,
      type: 'database.backup',
      message: `backup ${backup.label} of ${backup.database}: ${formatBytes(backup.sizeBytes)}${pruned.length > 0 ? `; removed ${pruned.map((p) => p.label).join(', ')} (keep ${database.backupsKept} automatic; expired manual ones)` : ''}`,
      data: { label: backup.label, sizeBytes: backup.sizeBytes },
    });
    return backup;
  }

  backups(service: ServiceConfig): BackupRecord[] {
    requireDatabase(service);
    return this.deps.backups.list(service.name);
  }

  async restore(service: ServiceConfig, labelOrId: string, actor: string): Promise<BackupRecord> {
    const database = requireDatabase(service);
    const backup = await restoreBackup(
      { store: this.deps.backups, stateDir: this.deps.stateDir, binDir: this.deps.pgBinDir },
      service.name,
      database.url,
      labelOrId,
    );
    this.deps.record({
      operationId: null,
      service: service.name,
      releaseId: null,
      type: 'database.restored',
      level: 'warn',
      message: `${backup.database} restored from backup ${backup.label} (${new Date(backup.createdAt).toISOString()}) by ${actor}`,
    });
    return backup;
  }

  private async lintOrRefuse(
    service: ServiceConfig,
    pending: readonly MigrationFile[],
    runner: MigrationRunSettings,
    operationId: string,
  ): Promise<void> {
    const findings = await this.deps.lint!(pending, runner);
    const errors = findings.filter((f) => f.severity === 'error');
    for (const finding of findings.filter((f) => f.severity === 'warning')) {
      this.deps.record({
        operationId,
        service: service.name,
        releaseId: null,
        type: 'migration.lint-warning',
        level: 'warn',
        message: `${finding.file}:${finding.line}:${finding.column} ${finding.rule}: ${finding.message}`,
      });
    }
    if (errors.length === 0) return;
    const first = errors
      .slice(0, 5)
      .map((f) => `${f.file}:${f.line}:${f.column} ${f.rule}: ${firstSentence(f.message)}`)
      .join('; ');
    throw new CutoverError(
      'MIGRATION_LINT_FAILED',
      `${errors.length} unsafe pending migration statement${errors.length > 1 ? 's' : ''}; the deploy did not start: ${first}`,
      { details: errors },
    );
  }

  private progress(service: string, operationId: string | null): (p: MigrationProgress) => void {
    return (p) => {
      this.deps.record({
        operationId,
        service,
        releaseId: null,
        type: p.type,
        message: p.message,
        level: p.type === 'migration.retry' || p.type === 'migration.waiting' ? 'warn' : 'info',
      });
    };
  }
}

function requireDatabase(service: ServiceConfig): DatabaseConfig {
  if (!service.database)
    throw new CutoverError('BAD_REQUEST', `${service.name} has no database section in the config`, {
      hint: 'Add services.<name>.database with url and migrations.',
    });
  return service.database;
}

function settings(database: DatabaseConfig, actor: string, release: string | null): MigratorSettings {
  return {
    lockTimeoutMs: database.lockTimeoutMs,
    statementTimeoutMs: database.statementTimeoutMs,
    lockRetries: database.lockRetries,
    retryDelayMs: 500,
    lockWaitMs: database.waitForLockMs,
    actor,
    release,
  };
}

function firstSentence(text: string): string {
  const end = text.indexOf('. ');
  return end < 0 ? text : text.slice(0, end + 1);
}

function ignoredText(files: readonly string[]): string {
  const shown = files.slice(0, 3).join(', ');
  return files.length > 3 ? `${shown} and ${files.length - 3} more .sql file(s)` : shown;
}
