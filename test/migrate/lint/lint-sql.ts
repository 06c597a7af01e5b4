import { lintMigration, type LintFinding, type MigrationPhase } from '../../../src/migrate/lint/index.js';

/** Lints SQL as if it were the file `file` (whose folder may give the phase). */
export async function findingsOf(
  sql: string,
  file = 'migrations/001_change.sql',
  phase?: MigrationPhase,
): Promise<LintFinding[]> {
  return (await lintMigration(sql, { file, phase })).findings;
}

/** `rule-id@line:column` for each finding: compact enough to compare whole lists. */
export async function hitsOf(sql: string, file?: string, phase?: MigrationPhase): Promise<string[]> {
  return (await findingsOf(sql, file, phase)).map((finding) => `${finding.ruleId}@${finding.line}:${finding.column}`);
}
