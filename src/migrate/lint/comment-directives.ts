import { isMigrationPhase, type MigrationPhase } from './migration-phase.js';
import type { MigrationStatement, SqlComment } from './parsed-migration.js';
import { DISABLEABLE_RULE_IDS } from './rules/rule-catalogue.js';

/**
 * Directives live in comments, which PostgreSQL's scanner hands over as
 * tokens (so `--` inside a string literal is never mistaken for one):
 *
 *   -- cutover:phase contract                     header: the migration's phase
 *   -- cutover:no-transaction                     header: run statement by statement
 *   -- cutover-lint-disable rule-id: reason       header: the rule is off for the file
 *   -- cutover-lint-disable-next-statement rule-id[, rule-id]: reason
 *
 * Headers go before the first statement. Every disable names its rules and
 * gives a reason after a colon; one without a reason is reported and does
 * not take effect.
 */
export interface DisableDirective {
  scope: 'file' | 'next-statement';
  rules: string[];
  reason: string;
  comment: SqlComment;
  /** For next-statement: the statement it applies to. */
  statementIndex?: number;
}

export interface DirectiveProblem {
  ruleId: 'disable-without-reason' | 'invalid-directive';
  message: string;
  safeAlternative: string;
  comment: SqlComment;
}

export interface MigrationDirectives {
  phase?: { value: MigrationPhase; comment: SqlComment };
  noTransaction: boolean;
  disables: DisableDirective[];
  problems: DirectiveProblem[];
}

const HEADER_PREFIX = 'cutover:';
const LINT_PREFIX = 'cutover-lint-';
const DISABLE_FILE = 'cutover-lint-disable';
const DISABLE_NEXT = 'cutover-lint-disable-next-statement';

export function readDirectives(
  comments: readonly SqlComment[],
  statements: readonly MigrationStatement[],
): MigrationDirectives {
  const directives: MigrationDirectives = { noTransaction: false, disables: [], problems: [] };
  const firstStatementByte = statements[0]?.startByte ?? Number.POSITIVE_INFINITY;
  for (const comment of comments) {
    const body = commentBody(comment.text);
    const inHeader = comment.startByte < firstStatementByte;
    if (body.startsWith(HEADER_PREFIX)) readHeader(directives, comment, body.slice(HEADER_PREFIX.length), inHeader);
    else if (startsWithWord(body, DISABLE_NEXT))
      readDisable(directives, comment, body.slice(DISABLE_NEXT.length), 'next-statement', statements);
    else if (startsWithWord(body, DISABLE_FILE)) {
      if (inHeader) readDisable(directives, comment, body.slice(DISABLE_FILE.length), 'file', statements);
      else
        problem(
          directives,
          'invalid-directive',
          comment,
          `${DISABLE_FILE} applies to a whole file and must come before its first statement.`,
          `Move it to the top of the file, or use -- ${DISABLE_NEXT} <rule-id>: <reason> just before the statement.`,
        );
    } else if (body.startsWith(LINT_PREFIX)) {
      problem(
        directives,
        'invalid-directive',
        comment,
        `Unknown directive "${firstWord(body)}".`,
        `Use -- ${DISABLE_FILE} <rule-id>: <reason> (whole file, at the top) or -- ${DISABLE_NEXT} <rule-id>: <reason>.`,
      );
    }
  }
  return directives;
}

/** The text inside the comment markers, trimmed. */
function commentBody(text: string): string {
  if (text.startsWith('--')) return text.slice(2).trim();
  const inner = text.startsWith('/*') ? text.slice(2) : text;
  return (inner.endsWith('*/') ? inner.slice(0, -2) : inner).trim();
}

function startsWithWord(body: string, word: string): boolean {
  if (!body.startsWith(word)) return false;
  const next = body.charAt(word.length);
  return next === '' || next === ':' || next.trim() === '';
}

function firstWord(body: string): string {
  return body.split(/\s/, 1)[0] ?? body;
}

function problem(
  directives: MigrationDirectives,
  ruleId: DirectiveProblem['ruleId'],
  comment: SqlComment,
  message: string,
  safeAlternative: string,
): void {
  directives.problems.push({ ruleId, message, safeAlternative, comment });
}

function readHeader(directives: MigrationDirectives, comment: SqlComment, rest: string, inHeader: boolean): void {
  const [name = '', ...values] = rest.trim().split(/\s+/);
  if (!inHeader) {
    problem(
      directives,
      'invalid-directive',
      comment,
      `The header "cutover:${name}" comes after the first statement, where it has no effect.`,
      'Move it to the top of the file, before the first statement.',
    );
    return;
  }
  if (name === 'phase') {
    const value = values[0] ?? '';
    if (values.length === 1 && isMigrationPhase(value)) directives.phase = { value, comment };
    else
      problem(
        directives,
        'invalid-directive',
        comment,
        `"cutover:phase ${values.join(' ')}" is not a phase: a migration is either expand or contract.`,
        'Write -- cutover:phase expand or -- cutover:phase contract.',
      );
  } else if (name === 'no-transaction' && values.length === 0) {
    directives.noTransaction = true;
  } else {
    problem(
      directives,
      'invalid-directive',
      comment,
      `Unknown header "cutover:${rest.trim()}".`,
      'The headers are -- cutover:phase expand|contract and -- cutover:no-transaction.',
    );
  }
}

function readDisable(
  directives: MigrationDirectives,
  comment: SqlComment,
  rest: string,
  scope: DisableDirective['scope'],
  statements: readonly MigrationStatement[],
): void {
  const keyword = scope === 'file' ? DISABLE_FILE : DISABLE_NEXT;
  const colon = rest.indexOf(':');
  const reason = colon < 0 ? '' : rest.slice(colon + 1).trim();
  if (!reason) {
    const ids = (colon < 0 ? rest : rest.slice(0, colon)).trim() || '<rule-id>';
    problem(
      directives,
      'disable-without-reason',
      comment,
      `This ${keyword} gives no reason, so it does not take effect: a reviewer needs to know why the rule does not apply here.`,
      `-- ${keyword} ${ids}: <why it is safe here>`,
    );
    return;
  }
  const ids = rest
    .slice(0, colon)
    .split(/[\s,]+/)
    .filter((id) => id.length > 0);
  if (ids.length === 0) {
    problem(
      directives,
      'invalid-directive',
      comment,
      `This ${keyword} names no rule.`,
      `-- ${keyword} <rule-id>: ${reason}`,
    );
    return;
  }
  const known = ids.filter((id) => DISABLEABLE_RULE_IDS.has(id));
  for (const id of ids.filter((candidate) => !DISABLEABLE_RULE_IDS.has(candidate))) {
    problem(
      directives,
      'invalid-directive',
      comment,
      `"${id}" is not a rule that can be disabled.`,
      `Use one of: ${[...DISABLEABLE_RULE_IDS].join(', ')}.`,
    );
  }
  if (known.length === 0) return;
  if (scope === 'file') {
    directives.disables.push({ scope, rules: known, reason, comment });
    return;
  }
  const next = statements.find((statement) => statement.startByte >= comment.endByte);
  if (!next) {
    problem(
      directives,
      'invalid-directive',
      comment,
      `No statement follows this ${keyword}.`,
      'Put it just before the statement it is about.',
    );
    return;
  }
  directives.disables.push({ scope, rules: known, reason, comment, statementIndex: next.index });
}
