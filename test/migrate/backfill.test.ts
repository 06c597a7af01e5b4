import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runBackfill, type BackfillProgress } from '../../src/migrate/backfill.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';

/** Batched backfills against a real PostgreSQL: keyset batches, resume after an interruption, no row done twice. */
describe('batched backfill', () => {
  let server: PostgresServer;
  let url: string;

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('fill');
    await server.query(
      'fill',
      `CREATE TABLE users (id bigserial PRIMARY KEY, first_name text, last_name text, full_name text, touched int NOT NULL DEFAULT 0)`,
    );
    await server.query(
      'fill',
      `INSERT INTO users (first_name, last_name) SELECT 'first' || g, 'last' || g FROM generate_series(1, 2500) g`,
    );
    // 100 rows are already done: the WHERE skips them, and their key still advances.
    await server.query('fill', `UPDATE users SET full_name = 'kept' WHERE id % 25 = 0`);
  });
  after(async () => {
    await server?.stop();
  });

  it('updates every matching row once, in keyset batches, and resumes after an interruption', async () => {
    const request = {
      url,
      table: 'users',
      set: "full_name = first_name || ' ' || last_name, touched = touched + 1",
      where: 'full_name IS NULL',
      batchSize: 300,
      sleepMs: 5,
    };
    const controller = new AbortController();
    const first: BackfillProgress[] = [];
    const interrupted = await runBackfill({
      ...request,
      signal: controller.signal,
      onProgress: (p) => {
        first.push(p);
        if (p.batches === 3) controller.abort();
      },
    });
    assert.equal(interrupted.done, false);
    assert.equal(interrupted.batches, 3);
    assert.equal(interrupted.scanned, 900);
    assert.equal(interrupted.updated, 900 - 36, 'rows 25, 50, ... 900 were already done');
    assert.equal(first[0]!.remaining, 2200, 'the estimate counts the rows left to scan');
    assert.ok(first.every((p) => p.rowsPerSecond > 0));

    const second: BackfillProgress[] = [];
    const finished = await runBackfill({ ...request, onProgress: (p) => second.push(p) });
    assert.equal(finished.done, true);
    assert.equal(finished.resumed, true);
    assert.equal(finished.scanned, 1600, 'it went on after the last committed batch');
    assert.equal(finished.updated, 2400);
    const counts = await server.query<{ touched: number; n: string }>(
      'fill',
      'SELECT touched, count(*) AS n FROM users GROUP BY touched ORDER BY touched',
    );
    assert.deepEqual(
      counts.map((c) => [c.touched, Number(c.n)]),
      [
        [0, 100],
        [1, 2400],
      ],
      'no row was updated twice',
    );
    const sample = await server.query<{ full_name: string }>('fill', 'SELECT full_name FROM users WHERE id = 7');
    assert.equal(sample[0]!.full_name, 'first7 last7');

    const again = await runBackfill(request);
    assert.equal(again.done, true);
    assert.equal(again.scanned, 0, 'a finished backfill does nothing when run again');
    assert.match(again.finishedBefore ?? '', /^\d{4}-\d\d-\d\dT/, 'it says when it had finished');
    assert.equal(finished.finishedBefore, null);

    // The old release kept inserting rows without full_name: a new pass, asked for, catches them and only them.
    await server.query(
      'fill',
      `INSERT INTO users (first_name, last_name) SELECT 'late' || g, 'x' FROM generate_series(1, 40) g`,
    );
    const pass = await runBackfill({ ...request, again: true });
    assert.equal(pass.done, true);
    assert.equal(pass.resumed, false, 'a new pass starts from the first key');
    assert.equal(pass.scanned, 2540);
    assert.equal(pass.updated, 40, 'the count is the new pass’s own');
    assert.equal(pass.finishedBefore, null);
    const late = await server.query<{ n: string }>('fill', 'SELECT count(*) AS n FROM users WHERE full_name IS NULL');
    assert.equal(Number(late[0]!.n), 0);
    const twice = await server.query<{ n: string }>('fill', 'SELECT count(*) AS n FROM users WHERE touched > 1');
    assert.equal(Number(twice[0]!.n), 0, 'the WHERE kept the second pass off the rows already done');
    await server.query('fill', `DELETE FROM users WHERE first_name LIKE 'late%'`);
  });

  it('pages a composite primary key and lets --where name the key columns', async () => {
    await server.query('fill', 'CREATE TABLE memberships (org int, member int, role text, PRIMARY KEY (org, member))');
    await server.query(
      'fill',
      "INSERT INTO memberships SELECT o, m, 'member' FROM generate_series(1, 7) o, generate_series(1, 30) m",
    );
    const result = await runBackfill({
      url,
      table: 'memberships',
      set: "role = 'admin'",
      where: 'member = 1',
      batchSize: 17,
      sleepMs: 0,
    });
    assert.equal(result.done, true);
    assert.equal(result.updated, 7);
    const admins = await server.query<{ n: string }>(
      'fill',
      "SELECT count(*) AS n FROM memberships WHERE role = 'admin'",
    );
    assert.equal(admins[0]!.n, '7');
  });

  it('reads a table name as SQL does: unquoted folds to lower case, double quotes keep the case', async () => {
    await server.query('fill', 'CREATE TABLE ledger (id int PRIMARY KEY, n int)');
    await server.query('fill', 'CREATE TABLE "Ledger" (id int PRIMARY KEY, n int)');
    await server.query('fill', 'INSERT INTO ledger SELECT g, 0 FROM generate_series(1, 5) g');
    await server.query('fill', 'INSERT INTO "Ledger" SELECT g, 0 FROM generate_series(1, 3) g');
    const base = { url, set: 'n = 1', where: 'n = 0', batchSize: 2, sleepMs: 0 };
    assert.equal((await runBackfill({ ...base, table: 'LEDGER' })).updated, 5);
    assert.equal((await runBackfill({ ...base, table: 'public."Ledger"' })).updated, 3);
    const again = await runBackfill({ ...base, table: 'ledger' });
    assert.notEqual(again.finishedBefore, null, '`LEDGER` and `ledger` are one backfill');
    await assert.rejects(runBackfill({ ...base, table: '"Led"ger"' }), /--table: expected a table name/);
  });

  it('refuses a second statement, a table without a primary key and an unknown table, changing nothing', async () => {
    await server.query('fill', 'CREATE TABLE nokey (a int)');
    const base = { url, batchSize: 10, sleepMs: 0, where: null };
    await assert.rejects(
      runBackfill({ ...base, table: 'users', set: "full_name = 'x'; DROP TABLE users" }),
      /--set: expected one SQL expression, without ";"/,
    );
    await assert.rejects(
      runBackfill({ ...base, table: 'users', set: 'full_name = = 1' }),
      /do not make a valid UPDATE/,
    );
    await assert.rejects(runBackfill({ ...base, table: 'nokey', set: 'a = 1' }), /nokey has no primary key/);
    await assert.rejects(runBackfill({ ...base, table: 'missing', set: 'a = 1' }), /no table missing/);
    await assert.rejects(
      runBackfill({ ...base, table: 'users; drop', set: 'a = 1' }),
      /--table: expected a table name/,
    );
    assert.equal((await server.query<{ n: string }>('fill', 'SELECT count(*) AS n FROM users'))[0]!.n, '2500');
  });
});
