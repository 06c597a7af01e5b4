import path from 'node:path';
import { lintMigration } from './lint/index.js';
import type { MigrationFile } from './migration-files.js';
import type { TableName } from './lint/sql-names.js';
import type { LintProblem, MigrationLinter, MigrationRunSettings } from './service-migrations.js';

/**
 * The linter as a deploy runs it: each pending migration in the phase the
 * runner gave it (folder or header), its path shown relative to the
 * migrations directory so findings read like `contract/0003_drop.sql:2:1`.
 * It knows what a lone file cannot: the lock_timeout and statement_timeout the runner sets before
 * each file (database.lock_timeout), and the tables the pending migrations
 * before it create in the same run (the expand ones all run before the
 * deploy, the contract ones together once the old release is gone), which
 * are new and empty when the later file runs.
 */
export function deployLinter(): MigrationLinter {
  return async (files: readonly MigrationFile[], runner: MigrationRunSettings): Promise<LintProblem[]> => {
    const problems: LintProblem[] = [];
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
        },
      });
      newTables[file.phase] = result.newTables;
      for (const finding of result.findings) {
        problems.push({
          rule: finding.ruleId,
          severity: finding.severity,
          file: finding.file,
          line: finding.line,
          column: finding.column,
          message: `${finding.message} Instead: ${finding.safeAlternative}`,
        });
      }
    }
    return problems;
  };
}
