import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMigration } from '../../../src/migrate/lint/index.js';
import { SqlSource } from '../../../src/migrate/lint/sql-source.js';
import { findingsOf, hitsOf } from './lint-sql.js';

describe('positions', () => {
  it('turns byte offsets into 1-based lines and columns counted in characters', () => {
    const source = new SqlSource('-- é\nab😀c\n');
    // "ab😀c": the emoji is 4 bytes and 1 character (2 UTF-16 units).
    const cOffset = Buffer.byteLength('-- é\nab😀');
    assert.deepEqual(source.positionAtByte(0), { line: 1, column: 1 });
    assert.deepEqual(source.positionAtByte(Buffer.byteLength('-- é')), { line: 1, column: 5 });
    assert.deepEqual(source.positionAtByte(cOffset), { line: 2, column: 4 });
    assert.deepEqual(source.positionAtCharacter(8), { line: 2, column: 4 });
  });

  it('places statements after multi-byte text where an editor shows them', async () => {
    const parsed = await parseMigration("SELECT 'ééé'; /* ☕ */ SELECT 2;\n  -- ünïcode\n  SELECT 3");
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.statements.map((s) => [s.text, s.start.line, s.start.column]),
      [
        ["SELECT 'ééé'", 1, 1],
        ['SELECT 2', 1, 23],
        ['SELECT 3', 3, 3],
      ],
    );
  });

  it('reports a parse error where PostgreSQL stopped, after emoji and accents, without throwing', async () => {
    const findings = await findingsOf("SELECT '😀😀';\n-- ça\nALTER TABLE x ADD COLUMN;");
    assert.deepEqual(
      findings.map((f) => [f.ruleId, f.severity, f.line, f.column]),
      [['parse-error', 'error', 3, 25]],
    );
    assert.match(findings[0]?.message ?? '', /syntax error at or near ";"/);
    assert.equal(findings[0]?.statement, 'ALTER TABLE x ADD COLUMN;');
  });

  it('reports an unterminated string as a parse error too', async () => {
    assert.deepEqual(await hitsOf("SET lock_timeout = '5s';\nCOMMENT ON TABLE t IS 'open"), ['parse-error@2:23']);
  });

  it('ignores a byte order mark and reads CRLF files', async () => {
    assert.deepEqual(await hitsOf('\uFEFFSET lock_timeout = 1;\r\nCREATE INDEX i ON t (c);\r\n'), [
      'create-index-not-concurrently@2:1',
      'missing-statement-timeout@2:1',
    ]);
  });

  it('keeps the scanner working when a string holds a control character', async () => {
    assert.deepEqual(
      await hitsOf("SET lock_timeout = '5s';\nCOMMENT ON TABLE t IS 'bell \u0007';\nCREATE INDEX i ON t (c);"),
      ['create-index-not-concurrently@3:1', 'missing-statement-timeout@3:1'],
    );
  });

  it('ends a finding at the end of its statement, for SARIF regions', async () => {
    const [finding] = await findingsOf("SET lock_timeout = '5s';\nCREATE INDEX i\n  ON t (c);");
    assert.deepEqual([finding?.line, finding?.column, finding?.endLine, finding?.endColumn], [2, 1, 3, 11]);
    assert.equal(finding?.statement, 'CREATE INDEX i\n  ON t (c)');
  });
});
