import { quoteIdentifier, stringsOf } from '../sql-names.js';
import type { StatementRule } from './lint-rule.js';

function quotedLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export const renameEnumValue: StatementRule = {
  id: 'rename-enum-value',
  severity: 'error',
  summary: 'ALTER TYPE ... RENAME VALUE in an expand migration',
  why: 'The running release still writes and compares the old label: once the rename commits, its INSERTs and UPDATEs with the old label fail (invalid input value for enum) and its WHERE clauses on it match nothing, while it cannot know the new one.',
  lock: 'ACCESS EXCLUSIVE on the type (brief); the hazard is the running release, whose queries name the old label.',
  safePattern:
    'Add the new label (ALTER TYPE ... ADD VALUE), release code that reads both and writes the new one, move the rows with cutover db backfill, and stop using the old label; PostgreSQL cannot drop an enum label, so it stays unused (or rename it in a contract migration, once no release uses it).',
  check(statement, context) {
    const node = statement.node;
    if (context.phase === 'contract' || !('AlterEnumStmt' in node) || node.AlterEnumStmt.oldVal === undefined)
      return [];
    const type = stringsOf(node.AlterEnumStmt.typeName ?? [])
      .map(quoteIdentifier)
      .join('.');
    const from = quotedLiteral(node.AlterEnumStmt.oldVal);
    const to = quotedLiteral(node.AlterEnumStmt.newVal ?? 'new');
    return [
      {
        message: `Renaming ${type} value ${from} to ${to} breaks the running release: its writes of ${from} fail and its queries on ${from} match nothing once the rename commits.`,
        safeAlternative: [
          `-- expand: add the new label beside the old one`,
          `ALTER TYPE ${type} ADD VALUE IF NOT EXISTS ${to};`,
          `-- release code that reads both and writes ${to}, then move the rows in batches:`,
          `-- cutover db backfill <service> --table <table> --set "<column> = ${to}" --where "<column> = ${from}"`,
        ].join('\n'),
      },
    ];
  },
};
