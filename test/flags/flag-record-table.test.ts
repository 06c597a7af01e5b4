import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MemoryFlagRecordTable, type FlagRecordTable, type TableRecord } from '../../src/flags/flag-record-table.js';
import { SqliteFlagRecordTable } from '../../src/flags/sqlite-flag-record-table.js';

/**
 * The record table of scheduled changes and pending approvals, SQLite and in
 * memory: the fake answers as the real one does.
 */
interface Note extends TableRecord {
  text: string;
}

const note = (id: string, at: number, state = 'scheduled'): Note => ({
  id,
  environment: 'production',
  key: 'checkout',
  state,
  at,
  text: `note ${id}`,
});

for (const [name, setup] of [
  ['SQLite', () => new SqliteFlagRecordTable<Note>(new Database(':memory:'), 'flag_schedules')],
  ['in memory (the fake)', () => new MemoryFlagRecordTable<Note>()],
] as const satisfies readonly (readonly [string, () => FlagRecordTable<Note>])[]) {
  describe(`flag record table: ${name}`, () => {
    it('puts, replaces by id, and lists by time then id, filtered by state', () => {
      const table = setup();
      table.put(note('b', 20));
      table.put(note('a', 20));
      table.put(note('c', 10, 'applied'));
      assert.deepEqual(
        table.list().map((row) => row.id),
        ['c', 'a', 'b'],
      );
      assert.deepEqual(
        table.list('scheduled').map((row) => row.id),
        ['a', 'b'],
      );
      table.put({ ...note('a', 20), state: 'cancelled', text: 'changed' });
      assert.deepEqual(table.get('a'), { ...note('a', 20), state: 'cancelled', text: 'changed' });
      assert.deepEqual(
        table.list('scheduled').map((row) => row.id),
        ['b'],
      );
      assert.equal(table.get('missing'), null);
    });

    it('hands out copies: changing one does not change the table', () => {
      const table = setup();
      table.put(note('a', 1));
      const row = table.get('a')!;
      row.text = 'mutated';
      assert.equal(table.get('a')?.text, 'note a');
    });
  });
}
