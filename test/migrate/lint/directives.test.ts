import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lintMigration, phaseFromPath } from '../../../src/migrate/lint/index.js';
import { findingsOf, hitsOf } from './lint-sql.js';

// Both timeouts on one line, so the statement under test stays on line 2.
const TIMEOUT = "SET lock_timeout = '5s'; SET statement_timeout = '10min';\n";

describe('disable comments', () => {
  it('disables the named rules for the next statement only', async () => {
    const sql = `${TIMEOUT}-- cutover-lint-disable-next-statement change-column-type, rename-column: varchar(20) to text, no rewrite\nALTER TABLE a ALTER COLUMN b TYPE text;\nALTER TABLE a ALTER COLUMN c TYPE text;`;
    assert.deepEqual(await hitsOf(sql), ['change-column-type@4:1']);
  });

  it('disables a rule for the whole file from a comment at its top, in either comment style', async () => {
    for (const comment of [
      '-- cutover-lint-disable change-column-type: ids fit in integer for years',
      '/* cutover-lint-disable change-column-type: ids fit in integer for years */',
    ]) {
      const sql = `${comment}\n${TIMEOUT}ALTER TABLE a ALTER COLUMN b TYPE text;\nALTER TABLE a ALTER COLUMN c TYPE text;`;
      assert.deepEqual(await hitsOf(sql), [], comment);
    }
  });

  it('refuses a disable without a reason, and leaves the rule on', async () => {
    for (const comment of [
      '-- cutover-lint-disable-next-statement change-column-type',
      '-- cutover-lint-disable-next-statement change-column-type:   ',
    ]) {
      const findings = await findingsOf(`${TIMEOUT}${comment}\nALTER TABLE a ALTER COLUMN b TYPE text;`);
      assert.deepEqual(
        findings.map((f) => `${f.ruleId}/${f.severity}@${f.line}`),
        ['disable-without-reason/error@2', 'change-column-type/error@3'],
        comment,
      );
      assert.match(
        findings[0]?.safeAlternative ?? '',
        /cutover-lint-disable-next-statement change-column-type: <why it is safe here>/,
      );
    }
  });

  it('reports unknown rules, rules that cannot be disabled and misspelt directives', async () => {
    const sql = [
      '-- cutover-lint-disable parse-error: cannot be',
      TIMEOUT + '-- cutover-lint-disable-next-statement rename-colunm: typo',
      'ALTER TABLE a RENAME COLUMN b TO c;',
      '-- cutover-lint-disable-next-line rename-column: eslint habit',
      'SELECT 1;',
      '-- a plain comment mentioning cutover-lint-disable is not a directive',
    ].join('\n');
    const findings = await findingsOf(sql);
    assert.deepEqual(
      findings.map((f) => `${f.ruleId}@${f.line}`),
      ['invalid-directive@1', 'invalid-directive@3', 'rename-column@4', 'invalid-directive@5'],
    );
  });

  it('does not read directives inside string literals', async () => {
    const sql = `${TIMEOUT}COMMENT ON TABLE a IS '-- cutover-lint-disable-next-statement rename-column: no';\nALTER TABLE a RENAME COLUMN b TO c;`;
    assert.deepEqual(await hitsOf(sql), ['rename-column@3:1']);
  });

  it('reports a disable with nothing after it', async () => {
    assert.deepEqual(await hitsOf(`${TIMEOUT}-- cutover-lint-disable-next-statement rename-column: the end`), [
      'invalid-directive@2:1',
    ]);
  });
});

describe('phase', () => {
  const drop = `${TIMEOUT}ALTER TABLE a DROP COLUMN b;`;

  it('comes from the nearest expand/ or contract/ folder', () => {
    assert.equal(phaseFromPath('db/migrations/contract/003_drop.sql'), 'contract');
    assert.equal(phaseFromPath('contract/expand/003_add.sql'), 'expand');
    assert.equal(phaseFromPath('db/migrations/003_drop.sql'), undefined);
    assert.equal(phaseFromPath('db/contracts/003_drop.sql'), undefined);
  });

  it('from a header, and defaults to expand', async () => {
    assert.deepEqual(await hitsOf(drop), ['drop-column@2:1']);
    assert.deepEqual(await hitsOf(`-- cutover:phase contract\n${drop}`), []);
    assert.deepEqual(await hitsOf(`-- cutover:phase expand\n${drop}`, 'contract/1.sql'), [
      'invalid-directive@1:1',
      'drop-column@3:1',
    ]);
  });

  it('--phase wins over both', async () => {
    const result = await lintMigration(`-- cutover:phase expand\n${drop}`, { file: 'expand/1.sql', phase: 'contract' });
    assert.deepEqual([result.phase, result.findings], [{ phase: 'contract', source: 'option' }, []]);
  });

  it('a header after the first statement is reported, not obeyed', async () => {
    assert.deepEqual(await hitsOf(`${drop}\n-- cutover:phase contract`), ['drop-column@2:1', 'invalid-directive@3:1']);
  });
});
