import type { LintRun } from './lint-files.js';

/**
 * One finding per block: `file:line:col severity rule-id message` (the form
 * editors and CI logs turn into links), the statement's first line, then the
 * safe alternative indented. A summary line ends the report.
 */
export function formatText(run: LintRun): string {
  const blocks = run.findings.map((finding) => {
    const lines = [
      `${finding.file}:${finding.line}:${finding.column} ${finding.severity} ${finding.ruleId} ${finding.message}`,
    ];
    const statementLines = finding.statement.split('\n');
    if (finding.statement) lines.push(`  > ${statementLines[0] ?? ''}${statementLines.length > 1 ? ' ...' : ''}`);
    lines.push('  safe alternative:', ...finding.safeAlternative.split('\n').map((line) => `    ${line}`));
    return lines.join('\n');
  });
  const { files, errors, warnings } = run.summary;
  const counts =
    errors + warnings === 0
      ? `no findings in ${plural(files, 'file')}`
      : `${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(files, 'file')}`;
  return [...blocks, counts + catalogNote(run)].join('\n\n') + '\n';
}

/** Whether the database was read: a lint without it may flag what the database would disprove. */
function catalogNote(run: LintRun): string {
  if (!run.catalog) return '';
  if (run.catalog.read)
    return ` (with the database's catalog: ${plural(run.catalog.tables, 'table')}, ${plural(run.catalog.functions, 'function')} looked up; biggest tables first)`;
  return `\nwarning: the database was not read (${run.catalog.reason}); linted without its catalog`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
