import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { lintMigration } from '../../src/migrate/lint/lint-migration.js';
import { parseMigration } from '../../src/migrate/lint/parsed-migration.js';
import { transactionModeOf } from '../../src/migrate/lint/transaction-mode.js';
import { leadingCommentBodies } from '../../src/migrate/migration-headers.js';
import { readMigration } from '../../src/migrate/migration-files.js';

// The runner and the linter read a file's headers the same way: only the
// comments before its first statement. The runner used to take a header
// from any line, so these files ran in another phase or transaction mode
// than the linter had judged them in.
const CASES: Record<string, string> = {
  'header first': '-- cutover:phase contract\nALTER TABLE t DROP COLUMN c;\n',
  'after other comments':
    '-- drop the old column\n/* reviewed */\n-- cutover:phase contract\nALTER TABLE t DROP COLUMN c;\n',
  'block comment': '/* cutover:phase contract */\nALTER TABLE t DROP COLUMN c;\n',
  'nested block comment':
    '/* outer /* inner */ still outer */\n-- cutover:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n',
  'after a statement': "SET lock_timeout = '5s';\n-- cutover:phase contract\nALTER TABLE t DROP COLUMN c;\n",
  'no-transaction after a statement':
    "SET lock_timeout = '5s';\n-- cutover:no-transaction\nALTER TABLE t ADD COLUMN c int;\n",
  'inside a function body':
    'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\n-- cutover:phase contract\nSELECT 1\n$$;\n',
  'inside a string': "INSERT INTO notes (body) VALUES ('\n-- cutover:no-transaction\n');\n",
  'a byte order mark first': '\ufeff-- cutover:phase contract\nALTER TABLE t DROP COLUMN c;\n',
};

describe('migration headers: the runner reads what the linter reads', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-headers-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [name, sql] of Object.entries(CASES)) {
    it(name, async () => {
      const file = path.join(dir, `${name.replace(/\W+/g, '_')}.sql`);
      fs.writeFileSync(file, sql);
      const runner = readMigration(file, null);
      const linter = await lintMigration(sql, { file });
      assert.equal(runner.phase, linter.phase.phase, 'phase');
      // As PgMigrator decides it when it applies the file.
      const parsed = await parseMigration(sql);
      assert.ok(parsed.ok);
      assert.deepEqual(transactionModeOf(parsed.statements, runner.noTransaction), linter.transaction, 'transaction');
    });
  }

  it('takes only the leading comments, and those whole', () => {
    assert.deepEqual(leadingCommentBodies('  -- a \n/* b /* c */ d */ -- e\nSELECT 1; -- f'), [
      'a',
      'b /* c */ d',
      'e',
    ]);
    assert.deepEqual(leadingCommentBodies('SELECT 1; -- cutover:phase contract'), []);
    assert.deepEqual(leadingCommentBodies('/* never closed -- cutover:phase contract'), []);
    assert.deepEqual(leadingCommentBodies(''), []);
  });

  it('honours the headers it finds, and refuses a phase that is not one', () => {
    const write = (name: string, sql: string): string => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, sql);
      return file;
    };
    assert.equal(readMigration(write('a.sql', CASES['after other comments']!), null).phase, 'contract');
    assert.equal(readMigration(write('b.sql', CASES['after a statement']!), null).phase, 'expand');
    assert.equal(readMigration(write('c.sql', CASES['nested block comment']!), null).noTransaction, true);
    assert.equal(readMigration(write('d.sql', CASES['no-transaction after a statement']!), null).noTransaction, false);
    assert.throws(
      () => readMigration(write('e.sql', '-- cutover:phase contract later\nSELECT 1;'), null),
      /must be expand or contract, got "contract later"/,
    );
  });
});
