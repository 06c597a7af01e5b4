import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CutoverError } from '../core/errors.js';
import { readMigrationHeaders } from './migration-headers.js';

/**
 * The migrations of a service, read from its migrations directory: plain SQL
 * files named so they sort in order (`0001_add_full_name.sql`), each in the
 * `expand` phase (safe while the running release is old) or the `contract`
 * phase (only once no release older than the migration runs). The phase
 * comes from the folder (`expand/`, `contract/`) or a header comment
 * `-- cutover:phase contract` before the first statement (see
 * migration-headers.ts); a file that says neither is `expand`.
 * `-- cutover:no-transaction` runs a file outside a transaction, which is also
 * chosen on its own for files with statements PostgreSQL refuses in one.
 */
export type MigrationPhase = 'expand' | 'contract';

export interface MigrationFile {
  /** The file name without `.sql`: the key in the history table. */
  id: string;
  file: string;
  phase: MigrationPhase;
  /** sha256 of the file's bytes: an applied migration whose file changed is refused. */
  checksum: string;
  sql: string;
  /** From the header; the runner also goes without one when a statement needs it. */
  noTransaction: boolean;
}

const PHASES: readonly MigrationPhase[] = ['expand', 'contract'];

export function readMigrations(directory: string): MigrationFile[] {
  return readMigrationDirectory(directory).files;
}

/** How deep ignoredSqlFiles looks, and how many it names: enough to show a misplaced folder, bounded for a huge tree. */
const IGNORED_SEARCH_DEPTH = 4;
const IGNORED_LISTED = 20;

/**
 * The migrations, and the `.sql` files under the directory that are not
 * read as migrations: in a folder other than a top-level `expand/` or
 * `contract/` (`2024/0001.sql`, `expand/old/0002.sql`). They are never run,
 * and before they were passed over without a word, so a team that grouped
 * its files in folders deployed with none of them applied. Not an error: a
 * `down/` folder of undo scripts is common and must not stop a deploy.
 */
export function readMigrationDirectory(directory: string): { files: MigrationFile[]; ignored: string[] } {
  const files = readTopLevel(directory);
  return { files, ignored: ignoredSqlFiles(directory) };
}

function ignoredSqlFiles(directory: string): string[] {
  const ignored: string[] = [];
  const visit = (dir: string, depth: number, read: boolean): void => {
    if (depth > IGNORED_SEARCH_DEPTH || ignored.length >= IGNORED_LISTED) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory())
        visit(full, depth + 1, depth === 0 && (PHASES as readonly string[]).includes(entry.name));
      else if (!read && entry.isFile() && entry.name.endsWith('.sql') && ignored.length < IGNORED_LISTED)
        ignored.push(path.relative(directory, full));
    }
  };
  visit(directory, 0, true);
  return ignored;
}

function readTopLevel(directory: string): MigrationFile[] {
  if (!fs.existsSync(directory)) {
    throw new CutoverError('MIGRATION_INVALID', `the migrations directory ${directory} does not exist`, {
      hint: 'Check database.migrations in cutover.yaml.',
    });
  }
  const found: MigrationFile[] = [];
  const visit = (dir: string, folderPhase: MigrationPhase | null): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if ((PHASES as readonly string[]).includes(entry.name) && folderPhase === null)
          visit(full, entry.name as MigrationPhase);
        continue;
      }
      if (entry.isFile() && entry.name.endsWith('.sql')) found.push(readMigration(full, folderPhase));
    }
  };
  visit(directory, null);
  found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 1; i < found.length; i++) {
    if (found[i]!.id === found[i - 1]!.id) {
      throw new CutoverError(
        'MIGRATION_INVALID',
        `two migrations are named ${found[i]!.id}: ${found[i - 1]!.file} and ${found[i]!.file}`,
        { hint: 'Give each migration file a unique name.' },
      );
    }
  }
  return found;
}

export function readMigration(file: string, folderPhase: MigrationPhase | null): MigrationFile {
  const bytes = fs.readFileSync(file);
  const sql = bytes.toString('utf8');
  const headers = readMigrationHeaders(sql);
  const header = headers.phase;
  if (header !== undefined && !(PHASES as readonly string[]).includes(header)) {
    throw new CutoverError('MIGRATION_INVALID', `${file}: cutover:phase must be expand or contract, got "${header}"`);
  }
  if (header !== undefined && folderPhase !== null && header !== folderPhase) {
    throw new CutoverError(
      'MIGRATION_INVALID',
      `${file}: its header says ${header} but it is in the ${folderPhase}/ folder`,
    );
  }
  return {
    id: path.basename(file, '.sql'),
    file,
    phase: (header as MigrationPhase | undefined) ?? folderPhase ?? 'expand',
    checksum: createHash('sha256').update(bytes).digest('hex'),
    sql,
    noTransaction: headers.noTransaction,
  };
}
