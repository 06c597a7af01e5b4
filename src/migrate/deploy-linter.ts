import path from 'node:path';
import { lintMigration } from './lint/index.js';
import type { MigrationFile } from './migration-files.js';
import type { LintProblem, MigrationLinter } from './service-migrations.js';

/**
 * The linter as a deploy runs it: each pending migration in the phase the
 * runner gave it (folder or header), its path shown relative to the
 * migrations directory so findings read like `contract/0003_drop.sql:2:1`.
 */
export function deployLinter(): MigrationLinter {
  return async (files: readonly MigrationFile[]): Promise<LintProblem[]> => {
    const problems: LintProblem[] = [];
    for (const file of files) {
      const shown = path.join(
        path.basename(path.dirname(file.file)) === file.phase ? file.phase : '',
        path.basename(file.file),
      );
      const result = await lintMigration(file.sql, { file: shown, phase: file.phase });
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
