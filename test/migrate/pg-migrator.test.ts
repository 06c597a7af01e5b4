import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { readMigrations } from '../../src/migrate/migration-files.js';
import { planMigrations } from '../../src/migrate/migration-plan.js';
import { PgMigrator, type MigrationProgress, type MigratorSettings } from '../../src/migrate/pg-migrator.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';

/** The migration runner against a real PostgreSQL: history, checksums, the advisory lock, timeouts and retries. */
const SETTINGS: MigratorSettings = {
  lockTimeoutMs: 2_000,
  statementTimeoutMs: 30_000,
  lockRetries: 3,
  retryDelayMs: 100,
  lockWaitMs: 0,
  actor: 'test',
  release: null,
};

const made: string[] = [];
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

function migrationsDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-migrations-'));
  made.push(dir);
  for (const [name, sql] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), sql);
  }
  return dir;
}

describe('the migration runner', () => {
  let server: PostgresServer;
  let counter = 0;
  const freshDatabase = async (): Promise<string> => server.createDatabase(`m${++counter}`);
  const run = async (
    url: string,
    dir: string,
    settings: Partial<MigratorSettings> = {},
    events: MigrationProgress[] = [],
  ): Promise<string[]> => {
    const migrator = await PgMigrator.connect(url);
    try {
      const applied = await migrator.applied();
      const plan = planMigrations(readMigrations(dir), applied, []);
      return await migrator.apply([...plan.expand, ...plan.contract], { ...SETTINGS, ...settings }, (event) =>
        events.push(event),
      );
    } finally {
      await migrator.close();
    }
  };

  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });

  it('applies pending migrations in order once, with their checksums in the history', async () => {
    const url = await freshDatabase();
    const dir = migrationsDir({
      '0001_users.sql': 'CREATE TABLE users (id bigserial PRIMARY KEY, first_name text, last_name text);',
      '0002_full_name.sql':
        "ALTER TABLE users ADD COLUMN full_name text;\nINSERT INTO users (first_name, last_name) VALUES ('Ada', 'Lovelace');",
    });
    assert.deepEqual(await run(url, dir), ['0001_users', '0002_full_name']);
    assert.deepEqual(await run(url, dir), [], 'a second run has nothing to do');
    const history = await server.query<{ id: string; checksum: string; transactional: boolean }>(
      url.split('/').pop()!,
      'SELECT id, checksum, transactional FROM cutover_schema_migrations ORDER BY id',
    );
    const files = readMigrations(dir);
    assert.deepEqual(
      history.map((h) => [h.id, h.checksum, h.transactional]),
      files.map((f) => [f.id, f.checksum, true]),
    );
  });

  it('refuses to run anything when an applied migration was edited', async () => {
    const url = await freshDatabase();
    const dir = migrationsDir({ '0001_t.sql': 'CREATE TABLE t (id int);' });
    await run(url, dir);
    fs.writeFileSync(path.join(dir, '0001_t.sql'), 'CREATE TABLE t (id bigint);');
    fs.writeFileSync(path.join(dir, '0002_u.sql'), 'CREATE TABLE u (id int);');
    const migrator = await PgMigrator.connect(url);
    try {
      const plan = planMigrations(readMigrations(dir), await migrator.applied(), []);
      assert.deepEqual(plan.changed, ['0001_t']);
      assert.equal(plan.migrations.find((m) => m.id === '0001_t')?.state, 'changed');
      await assert.rejects(migrator.apply(readMigrations(dir), SETTINGS), { code: 'MIGRATION_CHECKSUM_MISMATCH' });
    } finally {
      await migrator.close();
    }
    const tables = await server.query<{ n: string }>(
      url.split('/').pop()!,
      "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'u'",
    );
    assert.equal(tables[0]!.n, '0', 'the migration after the edited one did not run');
  });

  it('rolls a failed migration back whole and does not record it', async () => {
    const url = await freshDatabase();
    const dir = migrationsDir({ '0001_bad.sql': 'CREATE TABLE half (id int);\nSELECT * FROM no_such_table;' });
    await assert.rejects(run(url, dir), (error: Error & { code: string }) => {
      assert.equal(error.code, 'MIGRATION_FAILED');
      assert.match(error.message, /0001_bad: relation "no_such_table" does not exist \[SQLSTATE 42P01\]/);
      return true;
    });
    const db = url.split('/').pop()!;
    assert.equal(
      (await server.query<{ n: string }>(db, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'half'"))[0]!.n,
      '0',
    );
    assert.equal(
      (await server.query<{ n: string }>(db, 'SELECT count(*) AS n FROM cutover_schema_migrations'))[0]!.n,
      '0',
    );
  });

  it('runs CREATE INDEX CONCURRENTLY outside a transaction, statement by statement', async () => {
    const url = await freshDatabase();
    const dir = migrationsDir({
      '0001_t.sql': 'CREATE TABLE items (id int, sku text);',
      '0002_index.sql':
        "-- a semicolon in a comment; and in a string\nCREATE INDEX CONCURRENTLY items_sku ON items (sku);\nCOMMENT ON INDEX items_sku IS 'by sku; fast';",
    });
    assert.deepEqual(await run(url, dir), ['0001_t', '0002_index']);
    const db = url.split('/').pop()!;
    const rows = await server.query<{ transactional: boolean }>(
      db,
      "SELECT transactional FROM cutover_schema_migrations WHERE id = '0002_index'",
    );
    assert.equal(rows[0]!.transactional, false);
    const comment = await server.query<{ c: string }>(
      db,
      "SELECT obj_description('items_sku'::regclass, 'pg_class') AS c",
    );
    assert.equal(comment[0]!.c, 'by sku; fast');
  });

  it('retries a migration whose lock_timeout expired, and applies it once the lock is free', async () => {
    const url = await freshDatabase();
    const dir = migrationsDir({ '0001_t.sql': 'CREATE TABLE busy (id int);' });
    await run(url, dir);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE');
    fs.writeFileSync(path.join(dir, '0002_alter.sql'), 'ALTER TABLE busy ADD COLUMN name text;');
    const events: MigrationProgress[] = [];
    const release = setTimeout(() => {
      void holder.query('COMMIT');
    }, 700);
    try {
      assert.deepEqual(await run(url, dir, { lockTimeoutMs: 100, retryDelayMs: 150, lockRetries: 5 }, events), [
        '0002_alter',
      ]);
    } finally {
      clearTimeout(release);
      await holder.end();
    }
    const retries = events.filter((e) => e.type === 'migration.retry');
    assert.ok(retries.length >= 1, 'at least one retry after a lock timeout');
    assert.match(retries[0]!.message, /lock_timeout \(100 ms\) expired/);
  });

  it('gives up after the retries with a hint about the blocking transaction', async () => {
    const url = await freshDatabase();
    const dir = migrationsDir({ '0001_t.sql': 'CREATE TABLE stuck (id int);' });
    await run(url, dir);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('BEGIN; LOCK TABLE stuck IN ACCESS SHARE MODE');
    fs.writeFileSync(path.join(dir, '0002_alter.sql'), 'ALTER TABLE stuck ADD COLUMN name text;');
    try {
      await assert.rejects(
        run(url, dir, { lockTimeoutMs: 50, retryDelayMs: 20, lockRetries: 2 }),
        (error: Error & { code: string; hint: string }) => {
          assert.equal(error.code, 'MIGRATION_FAILED');
          assert.match(error.message, /SQLSTATE 55P03/);
          assert.match(error.hint, /pg_stat_activity/);
          return true;
        },
      );
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('lets one of two runners started at once migrate; the other stops with a clear message or waits, and nothing is applied twice', async () => {
    const url = await freshDatabase();
    const dir = migrationsDir({
      // No IF NOT EXISTS: applied twice, this would fail.
      '0001_slow.sql': 'CREATE TABLE once (id int);\nSELECT pg_sleep(0.6);',
      '0002_more.sql': 'ALTER TABLE once ADD COLUMN note text;',
    });
    const results = await Promise.allSettled([run(url, dir), run(url, dir)]);
    const applied = results.filter((r): r is PromiseFulfilledResult<string[]> => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(applied.length, 1, 'exactly one runner migrated');
    assert.deepEqual(applied[0]!.value, ['0001_slow', '0002_more']);
    assert.equal(refused.length, 1);
    assert.equal((refused[0]!.reason as { code: string }).code, 'MIGRATION_LOCKED');
    assert.match(
      (refused[0]!.reason as Error).message,
      /another runner is migrating m\d+ \(held by backend \d+, application "cutover migrate"/,
    );

    // With a wait, the second runner queues behind the first and then finds nothing left to do.
    fs.writeFileSync(path.join(dir, '0003_slow.sql'), 'CREATE TABLE twice_not (id int);\nSELECT pg_sleep(0.6);');
    const events: MigrationProgress[] = [];
    const [first, second] = await Promise.all([
      run(url, dir, { lockWaitMs: 10_000 }),
      run(url, dir, { lockWaitMs: 10_000 }, events),
    ]);
    assert.deepEqual([...first, ...second], ['0003_slow']);
    const db = url.split('/').pop()!;
    assert.equal(
      (await server.query<{ n: string }>(db, 'SELECT count(*) AS n FROM cutover_schema_migrations'))[0]!.n,
      '3',
    );
  });
});

describe('migration files', () => {
  it('takes the phase from the folder or the header, and refuses a contradiction', () => {
    const dir = migrationsDir({
      'expand/0001_a.sql': 'SELECT 1;',
      'contract/0003_c.sql': 'SELECT 1;',
      '0002_b.sql': '-- cutover:phase contract\nSELECT 1;',
      '0004_d.sql': '-- cutover:no-transaction\nSELECT 1;',
    });
    const files = readMigrations(dir);
    assert.deepEqual(
      files.map((f) => [f.id, f.phase, f.noTransaction]),
      [
        ['0001_a', 'expand', false],
        ['0002_b', 'contract', false],
        ['0003_c', 'contract', false],
        ['0004_d', 'expand', true],
      ],
    );
    const bad = migrationsDir({ 'expand/0001_a.sql': '-- cutover:phase contract\nSELECT 1;' });
    assert.throws(() => readMigrations(bad), /header says contract but it is in the expand\/ folder/);
    const typo = migrationsDir({ '0001_a.sql': '-- cutover:phase contrakt\nSELECT 1;' });
    assert.throws(() => readMigrations(typo), /must be expand or contract, got "contrakt"/);
  });

  it('blocks a contract migration while a release that predates it runs', () => {
    const dir = migrationsDir({
      '0001_add.sql': 'SELECT 1;',
      'contract/0002_drop.sql': 'SELECT 1;',
      'contract/0003_drop_more.sql': 'SELECT 1;',
    });
    const files = readMigrations(dir);
    const old = { id: 'web-1', version: 'v1', knownMigrations: ['0001_add'] };
    const current = { id: 'web-2', version: 'v2', knownMigrations: ['0001_add', '0002_drop', '0003_drop_more'] };
    const blocked = planMigrations(files, [], [old, current]);
    assert.deepEqual(
      blocked.expand.map((f) => f.id),
      ['0001_add'],
    );
    assert.deepEqual(blocked.contract, []);
    assert.deepEqual(
      blocked.migrations.map((m) => m.state),
      ['pending', 'blocked', 'blocked'],
    );
    assert.match(
      blocked.migrations[1]!.reason!,
      /release web-1 \(v1\) still runs and predates it; it runs once that release is retired/,
    );
    const retired = planMigrations(files, [], [current]);
    assert.deepEqual(
      retired.contract.map((f) => f.id),
      ['0002_drop', '0003_drop_more'],
    );
  });
});
