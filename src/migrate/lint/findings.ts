/**
 * What the linter reports. A finding is tied to one statement (or one
 * directive comment, or the place a parse stopped) and carries both halves a
 * reviewer needs: why the statement is dangerous and what to write instead.
 */
export type Severity = 'error' | 'warning';

export interface LintFinding {
  ruleId: string;
  severity: Severity;
  file: string;
  /** 1-based, where the statement starts. */
  line: number;
  /** 1-based, in characters. */
  column: number;
  endLine: number;
  endColumn: number;
  /** The statement as written (trimmed), or the directive comment, or the line a parse error is on. */
  statement: string;
  /** Why it is dangerous: the lock it takes, the rewrite it causes, the old code it breaks. */
  message: string;
  /** What to write instead, as concrete SQL steps. */
  safeAlternative: string;
  /** The size of the table the statement works on, when the lint read a live database's catalog. */
  table?: FindingTable;
}

export interface FindingTable {
  schema: string;
  name: string;
  /** The planner's estimate (pg_class.reltuples); null when never analyzed. */
  rows: number | null;
  /** Table, indexes and TOAST. */
  bytes: number;
}

export interface LintSummary {
  files: number;
  errors: number;
  warnings: number;
}

export function summarize(files: number, findings: readonly LintFinding[]): LintSummary {
  const errors = findings.filter((finding) => finding.severity === 'error').length;
  return { files, errors, warnings: findings.length - errors };
}

/** File, then position. Array.prototype.sort is stable, so findings on one statement keep the rules' order. */
export function compareFindings(a: LintFinding, b: LintFinding): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column;
}
