/**
 * `cutover migrate lint`: a PostgreSQL migration linter built on
 * PostgreSQL's own parser (libpg-query). Pure core (lintMigration), a thin
 * file-system edge (lintFiles) and three output formats.
 */
export { lintMigration, type LintMigrationOptions, type MigrationLintResult } from './lint-migration.js';
export { collectMigrationFiles, lintFiles, type LintFilesOptions, type LintRun } from './lint-files.js';
export { compareFindings, summarize, type LintFinding, type LintSummary, type Severity } from './findings.js';
export {
  decidePhase,
  isMigrationPhase,
  phaseFromPath,
  MIGRATION_PHASES,
  type MigrationPhase,
  type PhaseDecision,
} from './migration-phase.js';
export { transactionModeOf, refusedInTransactionBlock, type TransactionMode } from './transaction-mode.js';
export { parseMigration, type MigrationStatement, type ParsedMigration } from './parsed-migration.js';
export { readDirectives, type MigrationDirectives } from './comment-directives.js';
export { ALL_RULES, STATEMENT_RULES, ruleById } from './rules/rule-catalogue.js';
export type { RuleDescription } from './rules/lint-rule.js';
export { formatText } from './text-format.js';
export { formatJson } from './json-format.js';
export { formatSarif } from './sarif-format.js';
