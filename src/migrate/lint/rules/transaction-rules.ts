import { createRequire } from 'node:module';
import type { MigrationStatement } from '../parsed-migration.js';
import { doBlockBody } from '../statement-parts.js';
import { transactionControl } from '../transaction-mode.js';
import type { StatementRule } from './lint-rule.js';

/**
 * Transactions the runner cannot honour. cutover runs a file as one
 * transaction unless it opens its own (see transaction-mode.ts); then each
 * statement runs as written, and a BEGIN ... COMMIT in the file is the only
 * thing that holds statements together. These rules catch the blocks that do
 * not do what they look like.
 */

/**
 * libpg-query's scanner, required on first use rather than imported: the rule
 * catalogue is loaded for `cutover migrate lint --help`, which must not pay
 * for the parser's WASM. By the time a rule runs, parseMigration has loaded
 * it (the same CommonJS module instance), so scanSync is ready.
 */
let scanSync: typeof import('libpg-query').scanSync | undefined;
function scanner(): typeof import('libpg-query').scanSync {
  scanSync ??= (createRequire(import.meta.url)('libpg-query') as typeof import('libpg-query')).scanSync;
  return scanSync;
}

const RUNNER_NOTE = '-- or drop BEGIN/COMMIT altogether: without them cutover runs the whole file as one transaction';

function isRollback(statement: MigrationStatement): boolean {
  const node = statement.node;
  return 'TransactionStmt' in node && node.TransactionStmt.kind === 'TRANS_STMT_ROLLBACK';
}

export const nestedTransaction: StatementRule = {
  id: 'nested-transaction',
  severity: 'error',
  summary: 'BEGIN inside a transaction the file already opened',
  why: 'PostgreSQL has no nested transactions: it ignores the inner BEGIN with a warning, so the first COMMIT ends the outer block and the statements after it run outside any transaction, each committing on its own; a failure there leaves the migration half applied.',
  lock: 'None of its own; the outer block keeps every lock taken so far until the first COMMIT.',
  safePattern:
    'One BEGIN ... COMMIT per block; for a part that may fail on its own, use SAVEPOINT and ROLLBACK TO SAVEPOINT inside the block.',
  check(statement, context) {
    if (transactionControl(statement) !== 'begin' || !context.transactionOpenBefore) return [];
    return [
      {
        message:
          'This BEGIN is inside a transaction the file already opened: PostgreSQL ignores it, the next COMMIT ends the outer transaction, and every statement after that commits on its own.',
        safeAlternative: [
          '-- remove the inner BEGIN and its COMMIT; for a step that may fail on its own:',
          'SAVEPOINT before_step;',
          '-- ... the step ...',
          '-- on failure: ROLLBACK TO SAVEPOINT before_step;',
          RUNNER_NOTE,
        ].join('\n'),
      },
    ];
  },
};

export const unclosedTransaction: StatementRule = {
  id: 'unclosed-transaction',
  severity: 'error',
  summary: 'BEGIN with no COMMIT after it',
  why: 'A file with its own BEGIN is run statement by statement, so nothing commits the block: it stays open after the last statement, holding every lock it took, and is rolled back when the connection closes, after the runner recorded the migration as applied.',
  lock: 'Every lock the statements after the BEGIN took, held until the connection closes.',
  safePattern: 'End the block with COMMIT, or drop the BEGIN and let the runner wrap the file in one transaction.',
  check(statement, context) {
    if (transactionControl(statement) !== 'begin' || context.transactionOpenBefore) return [];
    if (context.laterStatements().some((later) => transactionControl(later) === 'end')) return [];
    return [
      {
        message:
          'This BEGIN is never committed: the block stays open after the last statement, holding its locks, and its changes are lost when the connection closes although the migration is recorded as applied.',
        safeAlternative: ['-- end the block:', 'COMMIT;', RUNNER_NOTE].join('\n'),
      },
    ];
  },
};

export const commitWithoutBegin: StatementRule = {
  id: 'commit-without-begin',
  severity: 'error',
  summary: 'COMMIT or ROLLBACK with no BEGIN of the file open',
  why: 'A COMMIT in the file makes cutover run it statement by statement, so the statements before it have each committed on their own: the file is not the one transaction it reads as, a failure halfway leaves it half applied, and a ROLLBACK there undoes nothing.',
  lock: 'None of its own; the statements before it each held their locks only while they ran.',
  safePattern: 'Drop the COMMIT so the runner runs the file as one transaction, or open the block it ends with BEGIN.',
  check(statement, context) {
    if (transactionControl(statement) !== 'end' || context.transactionOpenBefore) return [];
    const word = isRollback(statement) ? 'ROLLBACK' : 'COMMIT';
    return [
      {
        message: `This ${word} ends no transaction of the file: because the file has it, cutover runs every statement on its own, so the statements before it already committed one by one${word === 'ROLLBACK' ? ' and the ROLLBACK undoes none of them' : ''}.`,
        safeAlternative: [
          `-- remove the ${word}: cutover then runs the whole file as one transaction`,
          '-- or, to group part of the file yourself: BEGIN; ... COMMIT;',
        ].join('\n'),
      },
    ];
  },
};

export const rollbackInMigration: StatementRule = {
  id: 'rollback-in-migration',
  severity: 'error',
  summary: 'ROLLBACK that ends a transaction of the file',
  why: 'Everything since the BEGIN is undone, but the runner goes on and records the migration as applied: the schema change never happens and cutover will not run the file again.',
  lock: 'None of its own; the block releases its locks.',
  safePattern:
    'Let a failing statement fail the migration (the runner rolls back and stops); use SAVEPOINT and ROLLBACK TO SAVEPOINT for a step that may fail on its own.',
  check(statement, context) {
    if (!isRollback(statement) || !context.transactionOpenBefore) return [];
    return [
      {
        message:
          'This ROLLBACK undoes the statements since BEGIN, yet the runner records the migration as applied and will not run it again.',
        safeAlternative: [
          '-- end the block with COMMIT; to undo one step only:',
          'SAVEPOINT before_step;',
          '-- ... the step ...',
          'ROLLBACK TO SAVEPOINT before_step;',
          'COMMIT;',
        ].join('\n'),
      },
    ];
  },
};

/** COMMIT or ROLLBACK as statements of a PL/pgSQL body (not `ON COMMIT`, not inside strings or names). */
function commitsInside(body: string): string | undefined {
  let tokens;
  try {
    // eslint-disable-next-line no-control-regex -- the characters the scanner's JSON cannot carry (see parsed-migration.ts)
    tokens = scanner()(body.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ' ')).tokens;
  } catch {
    return undefined;
  }
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index];
    const word = token?.text.toUpperCase();
    if (!token || !token.keywordKind || (word !== 'COMMIT' && word !== 'ROLLBACK')) continue;
    if (tokens[index - 1]?.text.toUpperCase() === 'ON') continue;
    return word;
  }
  return undefined;
}

export const commitInDoBlock: StatementRule = {
  id: 'commit-in-do-block',
  severity: 'error',
  summary: 'COMMIT or ROLLBACK inside a DO block that runs in a transaction',
  why: 'A DO block may commit only when it is not inside a transaction block; in a file cutover runs as one transaction (or between BEGIN and COMMIT) PostgreSQL stops it with "invalid transaction termination" and the migration fails.',
  lock: 'None: PostgreSQL refuses it and the migration fails.',
  safePattern:
    'Put the batching DO block in a file with a `-- cutover:no-transaction` header (then it runs on its own and may commit between batches), or drop the COMMIT.',
  check(statement, context) {
    const body = doBlockBody(statement);
    if (body === undefined || !(context.fileInTransaction || context.inExplicitTransaction)) return [];
    const word = commitsInside(body);
    if (!word) return [];
    return [
      {
        message: `This DO block runs ${word} inside a transaction (${context.fileInTransaction ? 'cutover runs the file as one' : 'the BEGIN before it'}): PostgreSQL refuses it with "invalid transaction termination" and the migration fails.`,
        safeAlternative: [
          '-- in a file of its own, which then runs statement by statement:',
          '-- cutover:no-transaction',
          `${statement.text};`,
        ].join('\n'),
      },
    ];
  },
};
