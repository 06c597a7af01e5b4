import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { lintFiles, parseMigration } from '../../../src/migrate/lint/index.js';

/**
 * The fixture set: 51 statements in seven files (expand/, contract/, headers,
 * directives, a parse error, multi-byte text before a finding) and the exact
 * findings they must give, no more and no fewer. Tests run from
 * dist/test/migrate/lint/, so the fixtures are four levels up, in the source tree.
 */
const FIXTURES = fileURLToPath(new URL('../../../../test/migrate/fixtures/lint/', import.meta.url));

interface ExpectedFinding {
  rule: string;
  line: number;
  column: number;
}

describe('the fixture set', () => {
  it('gives exactly the expected findings, file by file', async () => {
    const expected = JSON.parse(await readFile(`${FIXTURES}expected-findings.json`, 'utf8')) as Record<
      string,
      ExpectedFinding[]
    >;
    const run = await lintFiles([FIXTURES], { cwd: FIXTURES });
    const actual: Record<string, ExpectedFinding[]> = {};
    for (const result of run.files) {
      actual[result.file] = result.findings.map((finding) => ({
        rule: finding.ruleId,
        line: finding.line,
        column: finding.column,
      }));
    }
    const sortedKeys = (record: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
    assert.deepEqual(sortedKeys(actual), sortedKeys(expected));
  });

  it('holds at least 30 statements', async () => {
    const run = await lintFiles([FIXTURES], { cwd: FIXTURES });
    let statements = 0;
    for (const result of run.files) {
      const parsed = await parseMigration(await readFile(`${FIXTURES}${result.file}`, 'utf8'));
      if (parsed.ok) statements += parsed.statements.length;
    }
    // 49 in the six files that parse, and the two of 006_broken.sql.
    assert.equal(statements, 49);
  });

  it('reads the phase from the folder or the header, and the transaction mode from the content', async () => {
    const run = await lintFiles([FIXTURES], { cwd: FIXTURES });
    const modes = Object.fromEntries(
      run.files.map((result) => [
        result.file,
        `${result.phase.phase}/${result.phase.source} ${result.transaction === undefined ? '-' : result.transaction.wrapped ? 'single' : result.transaction.reason}`,
      ]),
    );
    assert.deepEqual(modes, {
      '005_maintenance.sql': 'contract/header statement-outside-transaction',
      '006_broken.sql': 'expand/default -',
      '007_directives.sql': 'expand/default single',
      'contract/004_drop_legacy.sql': 'contract/folder single',
      'expand/001_user_profile.sql': 'expand/folder single',
      'expand/002_orders_constraints.sql': 'expand/folder single',
      'expand/003_order_indexes.sql': 'expand/folder header',
    });
  });

  it('with --phase contract, the drops of the expand files are allowed', async () => {
    const run = await lintFiles([`${FIXTURES}expand/001_user_profile.sql`], { cwd: FIXTURES, phase: 'contract' });
    assert.deepEqual(
      run.findings.map((finding) => finding.ruleId),
      [
        'add-column-volatile-default',
        'missing-statement-timeout',
        'add-column-not-null-no-default',
        'change-column-type',
        'rename-column',
      ],
    );
  });
});
