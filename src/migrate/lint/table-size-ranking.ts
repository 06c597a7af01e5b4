import type { FindingTable, LintFinding } from './findings.js';
import { quoteIdentifier } from './sql-names.js';

/**
 * With a live database, a finding says how big the table it hurts is, and
 * the report lists the biggest first: an ACCESS EXCLUSIVE rewrite of an
 * empty table is over before anyone notices, the same statement on 41 M rows
 * is an outage. The words follow what the rule's statement does to the table.
 */
const VERB_OF_RULE: Readonly<Record<string, string>> = {
  'add-column-volatile-default': 'rewrites',
  'change-column-type': 'rewrites',
  'vacuum-full': 'rewrites',
  cluster: 'rewrites',
  'set-not-null': 'scans',
  'add-foreign-key-not-valid': 'scans',
  'add-check-not-valid': 'scans',
  'add-unique-constraint': 'scans',
  'create-index-not-concurrently': 'indexes',
  'reindex-not-concurrently': 'reindexes',
};

/** "rewrites `orders`, 41 M rows, ~3.2 GB" */
export function describeTableSize(ruleId: string, table: FindingTable): string {
  const verb = VERB_OF_RULE[ruleId] ?? 'locks';
  const name =
    table.schema === 'public'
      ? quoteIdentifier(table.name)
      : `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;
  const rows = table.rows === null ? 'rows unknown (never analyzed)' : `${countText(table.rows)} rows`;
  return `${verb} \`${name}\`, ${rows}, ~${sizeText(table.bytes)}`;
}

/** The finding with its table's size in front of the message. */
export function withTableSize(finding: LintFinding, table: FindingTable): LintFinding {
  return { ...finding, table, message: `${describeTableSize(finding.ruleId, table)}: ${finding.message}` };
}

/** Biggest table first; findings without a known table after them, each group in its previous order (the sort is stable). */
export function rankByTableSize(findings: readonly LintFinding[]): LintFinding[] {
  return [...findings].sort((a, b) => weight(b) - weight(a));
}

function weight(finding: LintFinding): number {
  return finding.table ? finding.table.bytes : -1;
}

/** 0, 950, 12 k, 41 M, 2.1 G: estimates, so no false precision. */
export function countText(rows: number): string {
  const n = Math.max(0, Math.round(rows));
  if (n < 1_000) return String(n);
  if (n < 1_000_000) return `${round(n / 1_000)} k`;
  if (n < 1_000_000_000) return `${round(n / 1_000_000)} M`;
  return `${round(n / 1_000_000_000)} G`;
}

/** 8 kB, 3.4 MB, 3.2 GB (powers of 1024, as PostgreSQL's pg_size_pretty prints them). */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${round(value)} ${units[unit]}`;
}

function round(value: number): string {
  return value >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}
