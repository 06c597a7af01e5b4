import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CutoverError } from '../../core/errors.js';
import { catalogQuestionsOf, type CatalogQuestions, type CatalogRead } from './database-catalog.js';
import { summarize, type LintFinding, type LintSummary } from './findings.js';
import { lintMigration, type MigrationLintResult } from './lint-migration.js';
import type { MigrationPhase } from './migration-phase.js';
import { rankByTableSize } from './table-size-ranking.js';

/**
 * The file-system edge of the linter: expands directories into their .sql
 * files, reads them and lints each one on its own (a table created by an
 * earlier file may have been applied long ago, so it is not "new").
 */
export interface LintFilesOptions {
  phase?: MigrationPhase;
  /** Paths in findings are relative to this directory (default: the working directory). */
  cwd?: string;
  /** The lock_timeout the runner sets before each file; 0 or absent: none. */
  lockTimeoutMs?: number;
  /** The statement_timeout the runner sets before each file; 0 or absent: none. */
  statementTimeoutMs?: number;
  /**
   * Reads a live database's catalog about the names the files mention
   * (`--database`): see database-catalog.ts. The files are parsed once more
   * to find those names, which is cheap next to a round trip.
   */
  readCatalog?: (questions: CatalogQuestions) => Promise<CatalogRead>;
}

/** Whether the lint had a live database's catalog; absent when none was asked for. */
export type CatalogUse = { read: true; tables: number; functions: number } | { read: false; reason: string };

export interface LintRun {
  /** The directory the findings' paths are relative to. */
  cwd: string;
  files: MigrationLintResult[];
  findings: LintFinding[];
  summary: LintSummary;
  catalog?: CatalogUse;
}

export async function lintFiles(paths: readonly string[], options: LintFilesOptions = {}): Promise<LintRun> {
  const cwd = options.cwd ?? process.cwd();
  const files = await collectMigrationFiles(paths, cwd);
  const sources = await Promise.all(files.map(async (file) => ({ file, sql: await readFile(file, 'utf8') })));
  const read = options.readCatalog
    ? await options.readCatalog(await catalogQuestionsOf(sources.map((source) => source.sql)))
    : undefined;
  const catalog = read?.ok ? read.catalog : undefined;
  const results: MigrationLintResult[] = [];
  for (const { file, sql } of sources) {
    const shown = path.relative(cwd, file) || path.basename(file);
    // The phase comes from the folders of the shown path only: a folder named contract/ far above
    // the project must not turn every migration into a contract one (which may drop).
    const result = await lintMigration(sql, {
      file: shown,
      phase: options.phase,
      before: {
        runnerLockTimeoutMs: options.lockTimeoutMs ?? 0,
        runnerStatementTimeoutMs: options.statementTimeoutMs ?? 0,
        catalog,
      },
    });
    results.push(result);
  }
  const inOrder = results.flatMap((result) => result.findings);
  const findings = catalog ? rankByTableSize(inOrder) : inOrder;
  const run: LintRun = { cwd, files: results, findings, summary: summarize(results.length, findings) };
  if (read)
    run.catalog = read.ok
      ? { read: true, tables: read.facts.tables.length, functions: read.facts.functions.length }
      : { read: false, reason: read.reason };
  return run;
}

/** Files as given (whatever their extension), directories searched recursively for *.sql, in path order: the order migrations apply in. */
export async function collectMigrationFiles(paths: readonly string[], cwd: string): Promise<string[]> {
  if (paths.length === 0)
    throw new CutoverError('BAD_REQUEST', 'no migration files or directories given', {
      hint: 'Run `cutover migrate lint <files or directories>`, e.g. `cutover migrate lint migrations/`.',
    });
  const found: string[] = [];
  for (const given of paths) {
    const absolute = path.resolve(cwd, given);
    const info = await stat(absolute).catch(() => undefined);
    if (!info)
      throw new CutoverError('BAD_REQUEST', `${given}: no such file or directory`, {
        hint: 'Check the path; give migration .sql files or the directories that hold them.',
      });
    if (info.isDirectory()) found.push(...(await sqlFilesUnder(absolute)).sort(comparePaths));
    else found.push(absolute);
  }
  return [...new Set(found)];
}

async function sqlFilesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await sqlFilesUnder(full)));
    else if (entry.isFile() && entry.name.toLowerCase().endsWith('.sql')) files.push(full);
  }
  return files;
}

function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
