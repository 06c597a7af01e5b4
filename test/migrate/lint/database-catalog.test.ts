import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalogOf, catalogQuestionsOf } from '../../../src/migrate/lint/database-catalog.js';
import {
  countText,
  describeTableSize,
  rankByTableSize,
  sizeText,
} from '../../../src/migrate/lint/table-size-ranking.js';
import type { LintFinding } from '../../../src/migrate/lint/findings.js';

/** The catalog's answers as the rules read them, without a database (the live tests are in live-database.test.ts). */
describe('the database catalog', () => {
  const catalog = catalogOf({
    functions: [
      { name: 'pick', volatility: 'immutable' },
      { name: 'pick', volatility: 'volatile' },
      { name: 'tidy', volatility: 'stable' },
    ],
    notNullColumns: [{ schema: 'billing', table: 'invoices', column: 'total' }],
    tables: [
      { schema: 'public', name: 'orders', rows: 10, bytes: 8192 },
      { schema: 'archive', name: 'orders', rows: 9_000_000, bytes: 4e9 },
      { schema: 'billing', name: 'invoices', rows: null, bytes: 16384 },
    ],
  });

  it('takes the most volatile overload, as a call may resolve to any of them', () => {
    assert.equal(catalog.functionVolatility('pick'), 'volatile');
    assert.equal(catalog.functionVolatility('tidy'), 'stable');
    assert.equal(catalog.functionVolatility('absent'), undefined);
  });

  it('reads an unqualified table as public first, else the one schema that has it', () => {
    assert.equal(catalog.tableSize({ name: 'orders' })?.schema, 'public');
    assert.equal(catalog.tableSize({ schema: 'archive', name: 'orders' })?.rows, 9_000_000);
    assert.equal(catalog.tableSize({ name: 'invoices' })?.schema, 'billing');
    assert.equal(catalog.provesNotNull({ name: 'invoices' }, 'total'), true);
    assert.equal(catalog.provesNotNull({ schema: 'public', name: 'invoices' }, 'total'), false);
  });

  it('asks about the tables and functions the SQL names, DROP TABLE and DROP TRIGGER included', async () => {
    const questions = await catalogQuestionsOf([
      'ALTER TABLE app.orders ADD COLUMN c jsonb DEFAULT app.build(now());',
      'DROP TABLE legacy; DROP TRIGGER t ON audit;',
      'not sql at all',
    ]);
    assert.deepEqual(questions, { functions: ['build', 'now'], tables: ['audit', 'legacy', 'orders'] });
  });
});

describe('table sizes in findings', () => {
  it('prints estimates without false precision', () => {
    assert.deepEqual([0, 950, 12_345, 41_000_000, 2_100_000_000].map(countText), ['0', '950', '12 k', '41 M', '2.1 G']);
    assert.deepEqual([512, 8192, 3.4 * 1024 ** 2, 3.2 * 1024 ** 3].map(sizeText), [
      '512 bytes',
      '8 kB',
      '3.4 MB',
      '3.2 GB',
    ]);
    assert.equal(
      describeTableSize('change-column-type', { schema: 'public', name: 'orders', rows: 41e6, bytes: 3.2 * 1024 ** 3 }),
      'rewrites `orders`, 41 M rows, ~3.2 GB',
    );
    assert.equal(
      describeTableSize('drop-trigger', { schema: 'Billing', name: 'invoices', rows: null, bytes: 16384 }),
      'locks `"Billing".invoices`, rows unknown (never analyzed), ~16 kB',
    );
  });

  it('ranks the biggest table first and keeps findings without a size after, in order', () => {
    const finding = (file: string, bytes?: number): LintFinding => ({
      ruleId: 'cluster',
      severity: 'error',
      file,
      line: 1,
      column: 1,
      endLine: 1,
      endColumn: 1,
      statement: '',
      message: '',
      safeAlternative: '',
      ...(bytes === undefined ? {} : { table: { schema: 'public', name: file, rows: 0, bytes } }),
    });
    const ranked = rankByTableSize([finding('a'), finding('b', 10), finding('c'), finding('d', 1e9), finding('e', 0)]);
    assert.deepEqual(
      ranked.map((f) => f.file),
      ['d', 'b', 'e', 'a', 'c'],
    );
  });
});
