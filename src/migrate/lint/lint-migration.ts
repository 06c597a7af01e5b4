import { readDirectives, type DirectiveProblem, type MigrationDirectives } from './comment-directives.js';
import { doBlockStatements } from './do-block-statements.js';
import { compareFindings, type FindingTable, type LintFinding } from './findings.js';
import { decidePhase, phaseFromPath, type MigrationPhase, type PhaseDecision } from './migration-phase.js';
import { MigrationState, type StateBeforeFile } from './migration-state.js';
import type { TableName } from './sql-names.js';
import { parseMigration, type MigrationStatement, type SqlComment } from './parsed-migration.js';
import { INVALID_DIRECTIVE, PARSE_ERROR, STATEMENT_RULES, ruleById } from './rules/rule-catalogue.js';
import type { SqlSource } from './sql-source.js';
import { subjectTable } from './subject-table.js';
import { withTableSize } from './table-size-ranking.js';
import { transactionModeOf, type TransactionMode } from './transaction-mode.js';

export interface LintMigrationOptions {
  /** The file's path as it should appear in findings; its folders give the phase (expand/, contract/). */
  file: string;
  /** Overrides the header and the folder. */
  phase?: MigrationPhase;
  /** What the runner and the migrations run before this file establish (a deploy knows; a lone file does not). */
  before?: StateBeforeFile;
}

export interface MigrationLintResult {
  file: string;
  phase: PhaseDecision;
  /** How the runner will run the file; undefined when it does not parse. */
  transaction?: TransactionMode;
  findings: LintFinding[];
  /** The tables new after this file (created in it, or given in `before`): what the next file of the same run may treat as new. */
  newTables: readonly TableName[];
}

/**
 * Lints one migration file's SQL. No I/O: the caller reads the file. The
 * statements are checked in order against a state that remembers what the
 * earlier ones did (tables created, lock_timeout set, checks validated).
 */
export async function lintMigration(sql: string, options: LintMigrationOptions): Promise<MigrationLintResult> {
  const parsed = await parseMigration(sql);
  const folder = phaseFromPath(options.file);
  if (!parsed.ok) {
    const { position, message } = parsed.error;
    return {
      file: options.file,
      phase: decidePhase({ option: options.phase, folder }),
      // Nothing in the file was understood: what it creates is unknown, so nothing more is new.
      newTables: options.before?.newTables ?? [],
      findings: [
        {
          ruleId: PARSE_ERROR.id,
          severity: PARSE_ERROR.severity,
          file: options.file,
          line: position.line,
          column: position.column,
          endLine: position.line,
          endColumn: position.column,
          statement: lineText(parsed.source, position.line),
          message: `PostgreSQL cannot parse the file: ${message}. Nothing in it was checked.`,
          safeAlternative: PARSE_ERROR.safePattern,
        },
      ],
    };
  }

  const directives = readDirectives(parsed.comments, parsed.statements);
  const phase = decidePhase({ option: options.phase, header: directives.phase?.value, folder });
  const transaction = transactionModeOf(parsed.statements, directives.noTransaction);
  const findings: LintFinding[] = directives.problems.map((problem) => directiveFinding(options.file, problem));
  const conflict = phaseConflict(directives, folder, options.phase);
  if (conflict) findings.push(directiveFinding(options.file, conflict));

  const disabled = disabledRules(directives);
  const state = new MigrationState(phase.phase, transaction.wrapped, parsed.statements, options.before);
  const reported = new Set<string>();
  const check = (statement: MigrationStatement, where = ''): void => {
    let size: FindingTable | undefined | null = null;
    for (const rule of STATEMENT_RULES) {
      if (disabled(rule.id, statement) || (rule.oncePerFile && reported.has(rule.id))) continue;
      for (const hit of rule.check(statement, state)) {
        const finding: LintFinding = {
          ruleId: rule.id,
          severity: rule.severity,
          file: options.file,
          ...span(statement),
          statement: statement.text,
          ...hit,
          message: `${where}${hit.message}`,
        };
        if (size === null) size = tableSizeOf(statement, state, options.before);
        findings.push(size ? withTableSize(finding, size) : finding);
        reported.add(rule.id);
      }
    }
  };
  for (const statement of parsed.statements) {
    state.enter(statement);
    check(statement);
    // What a DO block runs runs now, in the block's transaction: each statement is checked as if written alone.
    for (const inner of await doBlockStatements(statement)) {
      check(inner, 'In a DO block: ');
      state.record(inner);
    }
    state.record(statement);
  }
  return {
    file: options.file,
    phase,
    transaction,
    findings: findings.sort(compareFindings),
    newTables: [...state.createdTables],
  };
}

/** The size of the table the statement works on, from the live catalog; none for a table this run creates. */
function tableSizeOf(
  statement: MigrationStatement,
  state: MigrationState,
  before: StateBeforeFile | undefined,
): FindingTable | undefined {
  const table = before?.catalog ? subjectTable(statement) : undefined;
  if (!table || state.isNewTable(table)) return undefined;
  const size = before?.catalog?.tableSize(table);
  return size && { schema: size.schema, name: size.name, rows: size.rows, bytes: size.bytes };
}

function disabledRules(directives: MigrationDirectives): (ruleId: string, statement: MigrationStatement) => boolean {
  const forFile = new Set(directives.disables.filter((d) => d.scope === 'file').flatMap((d) => d.rules));
  const forStatement = new Map<number, Set<string>>();
  for (const directive of directives.disables) {
    if (directive.statementIndex === undefined) continue;
    const rules = forStatement.get(directive.statementIndex) ?? new Set<string>();
    for (const rule of directive.rules) rules.add(rule);
    forStatement.set(directive.statementIndex, rules);
  }
  return (ruleId, statement) => forFile.has(ruleId) || Boolean(forStatement.get(statement.index)?.has(ruleId));
}

/** A header that contradicts the folder is more likely a mistake than a choice: say so rather than pick one silently. */
function phaseConflict(
  directives: MigrationDirectives,
  folder: MigrationPhase | undefined,
  option: MigrationPhase | undefined,
): DirectiveProblem | undefined {
  const header = directives.phase;
  if (option || !header || !folder || header.value === folder) return undefined;
  return {
    ruleId: 'invalid-directive',
    comment: header.comment,
    message: `The header says this is a ${header.value} migration but the file is in a ${folder}/ folder; the header wins, which may not be what you meant.`,
    safeAlternative: `Move the file to ${header.value}/, or change the header to -- cutover:phase ${folder}.`,
  };
}

function directiveFinding(file: string, problem: DirectiveProblem): LintFinding {
  const rule = ruleById(problem.ruleId) ?? INVALID_DIRECTIVE;
  return {
    ruleId: rule.id,
    severity: rule.severity,
    file,
    ...commentSpan(problem.comment),
    statement: problem.comment.text,
    message: problem.message,
    safeAlternative: problem.safeAlternative,
  };
}

function span(statement: MigrationStatement): Pick<LintFinding, 'line' | 'column' | 'endLine' | 'endColumn'> {
  return {
    line: statement.start.line,
    column: statement.start.column,
    endLine: statement.end.line,
    endColumn: statement.end.column,
  };
}

function commentSpan(comment: SqlComment): Pick<LintFinding, 'line' | 'column' | 'endLine' | 'endColumn'> {
  const end = comment.end;
  return { line: comment.start.line, column: comment.start.column, endLine: end.line, endColumn: end.column };
}

function lineText(source: SqlSource, line: number): string {
  return (source.text.split('\n')[line - 1] ?? '').trim();
}
