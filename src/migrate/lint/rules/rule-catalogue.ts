import type { RuleDescription, StatementRule } from './lint-rule.js';
import { dropDatabase, dropSchemaCascade } from './catastrophe-rules.js';
import {
  addColumnNotNullNoDefault,
  addColumnVolatileDefault,
  changeColumnType,
  dropColumn,
  dropNotNull,
  renameColumn,
} from './column-rules.js';
import { addCheckNotValid, addForeignKeyNotValid, addUniqueConstraint, setNotNull } from './constraint-rules.js';
import {
  concurrentlyInTransaction,
  createIndexNotConcurrently,
  dropIndexNotConcurrently,
  reindexNotConcurrently,
} from './index-rules.js';
import { missingLockTimeout } from './lock-timeout-rule.js';
import { cluster, lockTable, vacuumFull } from './maintenance-rules.js';
import { detachPartitionNotConcurrently } from './partition-rules.js';
import { refreshMaterializedViewNotConcurrently, rewriteTable } from './rewrite-rules.js';
import { missingStatementTimeout } from './statement-timeout-rule.js';
import { dropTable, dropTrigger, renameTable, truncateCascade } from './table-rules.js';
import {
  commitInDoBlock,
  commitWithoutBegin,
  nestedTransaction,
  rollbackInMigration,
  unclosedTransaction,
} from './transaction-rules.js';
import { renameEnumValue } from './type-rules.js';

/** The statement rules, in the order their findings are listed for one statement. */
export const STATEMENT_RULES: readonly StatementRule[] = [
  addColumnVolatileDefault,
  addColumnNotNullNoDefault,
  changeColumnType,
  renameColumn,
  renameTable,
  renameEnumValue,
  dropColumn,
  dropNotNull,
  dropTable,
  dropTrigger,
  truncateCascade,
  dropSchemaCascade,
  dropDatabase,
  createIndexNotConcurrently,
  dropIndexNotConcurrently,
  reindexNotConcurrently,
  detachPartitionNotConcurrently,
  addForeignKeyNotValid,
  addCheckNotValid,
  setNotNull,
  addUniqueConstraint,
  vacuumFull,
  cluster,
  rewriteTable,
  refreshMaterializedViewNotConcurrently,
  lockTable,
  missingLockTimeout,
  missingStatementTimeout,
  concurrentlyInTransaction,
  nestedTransaction,
  unclosedTransaction,
  commitWithoutBegin,
  rollbackInMigration,
  commitInDoBlock,
];

/** Findings about the file rather than a statement. They cannot be disabled: they are about the disabling itself, or there is nothing to lint. */
export const PARSE_ERROR: RuleDescription = {
  id: 'parse-error',
  severity: 'error',
  summary: 'The file is not valid PostgreSQL',
  why: "PostgreSQL's parser stops at the reported position, so the migration would fail there; nothing in the file was checked.",
  lock: 'None: the file cannot run.',
  safePattern: 'Fix the syntax at the reported line and column.',
};

export const DISABLE_WITHOUT_REASON: RuleDescription = {
  id: 'disable-without-reason',
  severity: 'error',
  summary: 'A cutover-lint-disable comment without a reason',
  why: 'A disabled rule hides a lock or a broken release from the reviewer; the reason is what lets them judge it. A disable without one does not take effect.',
  lock: 'None: it is about the review, not the database.',
  safePattern:
    'Say why it is safe here, after a colon:\n  -- cutover-lint-disable-next-statement change-column-type: varchar(64) to text, no rewrite',
};

export const INVALID_DIRECTIVE: RuleDescription = {
  id: 'invalid-directive',
  severity: 'error',
  summary: 'A cutover comment directive the linter cannot apply',
  why: 'A misspelt rule id, an unknown phase or a header after the first statement would otherwise be ignored silently, and the file would run differently than its author meant.',
  lock: 'None: it is about how the file runs.',
  safePattern:
    'Use `-- cutover:phase expand|contract` and `-- cutover:no-transaction` before the first statement, and rule ids from `cutover migrate lint --help` in disable comments.',
};

export const META_RULES: readonly RuleDescription[] = [PARSE_ERROR, DISABLE_WITHOUT_REASON, INVALID_DIRECTIVE];

/** Every rule, for SARIF's tool.driver.rules and the docs. */
export const ALL_RULES: readonly RuleDescription[] = [...STATEMENT_RULES, ...META_RULES];

/** Ids a disable comment may name. */
export const DISABLEABLE_RULE_IDS: ReadonlySet<string> = new Set(STATEMENT_RULES.map((rule) => rule.id));

export function ruleById(id: string): RuleDescription | undefined {
  return ALL_RULES.find((rule) => rule.id === id);
}
