import path from 'node:path';
import { readDatabaseCatalog } from './database-catalog-reader.js';
import { catalogQuestionsOf, type CatalogQuestions, type CatalogRead } from './lint/database-catalog.js';
import { lintMigration, type LintFinding } from './lint/index.js';
import { rankByTableSize } from './lint/table-size-ranking.js';
import type { MigrationFile } from './migration-files.js';
import type { TableName } from './lint/sql-names.js';
import type { LintProblem, MigrationLinter, MigrationRunSettings } from './service-migrations.js';

/**
 * The linter as a deploy runs it: each pending migration in the phase the
 * runner gave it (folder or header), its path shown relative to the
 * migrations directory so findings read like `contract/0003_drop.sql:2:1`.
 * It knows what a lone file cannot: the lock_timeout and statement_timeout the runner sets before
 * each file (database.lock_timeout), the tables the pending migrations
 * before it create in the same run (the expand ones all run before the
 * deploy, the contract ones together once the old release is gone), which
 * are new and empty when the later file runs, and, from the service's
 * database, its catalog: what earlier migrations created there and how big
 * each table is (findings on the biggest tables first).
 */
export type CatalogReader = (url: string, questions: CatalogQuestions) => Promise<CatalogRead>;

/** The rule id of the warning a deploy records when the service's database could not be read for the lint. */
export const CATALOG_UNAVAILABLE = 'database-catalog-unavailable';

export function deployLinter(readCatalog: CatalogReader = readDatabaseCatalog): MigrationLinter {
  return async (files: readonly MigrationFile[], runner: MigrationRunSettings): Promise<LintProblem[]> => {
    const read = runner.databaseUrl
      ? await readCatalog(runner.databaseUrl, await catalogQuestionsOf(files.map((file) => file.sql)))
      : undefined;
    const catalog = read?.ok ? read.catalog : undefined;
    const findings: LintFinding[] = [];
    const newTables: Record<MigrationFile['phase'], readonly TableName[]> = { expand: [], contract: [] };
    for (const file of files) {
      const shown = path.join(
        path.basename(path.dirname(file.file)) === file.phase ? file.phase : '',
        path.basename(file.file),
      );
      const result = await lintMigration(file.sql, {
        file: shown,
        phase: file.phase,
        before: {
          runnerLockTimeoutMs: runner.lockTimeoutMs,
          runnerStatementTimeoutMs: runner.statementTimeoutMs ?? 0,
          newTables: newTables[file.phase],
          catalog,
        },
      });
      newTables[file.phase] = result.newTables;
      findings.push(...result.findings);
    }
    const problems = (catalog ? rankByTableSize(findings) : findings).map((finding): LintProblem => ({
      rule: finding.ruleId,
      severity: finding.severity,
      file: finding.file,
      line: finding.line,
      column: finding.column,
      message: `${finding.message} Instead: ${finding.safeAlternative}`,
    }));
    const first = files[0];
    if (read && !read.ok && first)
      problems.push({
        rule: CATALOG_UNAVAILABLE,
        severity: 'warning',
        file: path.basename(first.file),
        line: 1,
        column: 1,
        message: `The database was not read for the lint (${read.reason}); linted without its catalog, so findings its catalog would disprove or rank may remain.`,
      });
    return problems;
  };
}
