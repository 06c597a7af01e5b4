import type { Severity } from '../findings.js';
import type { StatementContext } from '../migration-state.js';
import type { MigrationStatement } from '../parsed-migration.js';

/**
 * A rule as users see it in `--format sarif` and in the docs: a stable id
 * (scripts, disable comments and SARIF viewers match on it), a severity,
 * why the pattern is dangerous and the safe pattern in general. The message
 * of each finding then names the actual table, column and lock.
 */
export interface RuleDescription {
  id: string;
  severity: Severity;
  /** One line: what the rule flags. */
  summary: string;
  /** Why it is dangerous. */
  why: string;
  /**
   * The lock the statement takes and on what, as PostgreSQL 12–17 document it
   * (the manual's table-level lock list and each command's page), or what the
   * hazard is when it is not a lock.
   */
  lock: string;
  /** The safe way, in general terms with example SQL. */
  safePattern: string;
}

export interface RuleHit {
  message: string;
  safeAlternative: string;
}

/** Statement rules are pure: they read the statement and what earlier statements did, and change nothing. */
export interface StatementRule extends RuleDescription {
  /** Report only the first hit in a file: one fix (a SET at the top, say) covers every later statement. */
  oncePerFile?: boolean;
  check(statement: MigrationStatement, context: StatementContext): RuleHit[];
}
