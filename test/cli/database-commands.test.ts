import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { runCli } from '../support/cli-process.js';
import { operate } from '../support/operations.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';

/** `cutover migrate status|run` and `cutover db backup|backups|restore|backfill`, the real CLI against a real server and PostgreSQL. */
describe('database commands', () => {
  let pgServer: PostgresServer;
  let h: Harness;
  let migrations: string;
  const cli = (...args: string[]) =>
    runCli(['--config', h.configFile, ...args], {
      cwd: h.dir,
      env: { CUTOVER_URL: h.server.adminUrl, CUTOVER_TOKEN: h.server.token },
    });

  before(async () => {
    pgServer = await startPostgres();
    const url = await pgServer.createDatabase('shop');
    h = await startHarness({
      instances: 1,
      strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }',
      extraServiceYaml: `    database:\n      url: ${url}\n      migrations: MIGRATIONS_DIR\n`,
    });
    // The harness wrote the config; point the migrations at a directory of this test (the server read MIGRATIONS_DIR relative to the config).
    migrations = path.join(h.dir, 'MIGRATIONS_DIR');
    fs.mkdirSync(path.join(migrations, 'contract'), { recursive: true });
    fs.writeFileSync(
      path.join(migrations, '0001_orders.sql'),
      'CREATE TABLE orders (id bigserial PRIMARY KEY, total_cents int, total numeric);\nINSERT INTO orders (total_cents) SELECT g FROM generate_series(1, 500) g;',
    );
  });
  after(async () => {
    await h?.close();
    await pgServer?.stop();
  });

  it('shows pending migrations, deploys them, and shows them applied', async () => {
    const pending = await cli('migrate', 'status', 'web', '--version', 'v1');
    assert.equal(pending.code, 0, pending.stderr);
    assert.match(pending.stdout, /pending\s+expand\s+0001_orders/);
    // A .sql file where no migration is read from is listed as never run.
    fs.mkdirSync(path.join(migrations, 'seeds'), { recursive: true });
    fs.writeFileSync(path.join(migrations, 'seeds', 'orders.sql'), 'INSERT INTO orders (total_cents) VALUES (1);');
    const ignored = await cli('migrate', 'status', 'web', '--version', 'v1');
    assert.match(
      ignored.stdout,
      /ignored\s+seeds\/orders\.sql\n\s+never run: only \.sql files at the top and in expand\/ and contract\//,
    );
    const { operation } = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(operation.outcome, 'succeeded');
    const applied = await cli('--json', 'migrate', 'status', 'web');
    assert.equal(JSON.parse(applied.stdout).migrations[0].state, 'applied');
    const run = await cli('migrate', 'run', 'web');
    assert.match(run.stdout, /nothing to apply/);
  });

  it('backs up, lists, and restores only with confirmation', async () => {
    const made = await cli('db', 'backup', 'web', '--label', 'manual-1');
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /backup manual-1 of shop: [\d.]+ (KiB|B)/);
    const listed = await cli('--json', 'db', 'backups', 'web');
    assert.deepEqual(
      JSON.parse(listed.stdout).backups.map((b: { label: string }) => b.label),
      ['manual-1', 'pre-v1'],
    );
    await pgServer.query('shop', 'DELETE FROM orders WHERE id > 10');
    const refused = await cli('db', 'restore', 'web', '--backup', 'manual-1');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /pass --yes/);
    assert.equal((await pgServer.query<{ n: string }>('shop', 'SELECT count(*) AS n FROM orders'))[0]!.n, '10');
    const restored = await cli('db', 'restore', 'web', '--backup', 'manual-1', '--yes');
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal((await pgServer.query<{ n: string }>('shop', 'SELECT count(*) AS n FROM orders'))[0]!.n, '500');
  });

  it('backfills in batches with progress; a second run has nothing left, --again catches rows written since', async () => {
    const first = await cli(
      'db',
      'backfill',
      'web',
      '--table',
      'orders',
      '--set',
      'total = total_cents / 100.0',
      '--where',
      'total IS NULL',
      '--batch',
      '120',
      '--sleep',
      '5ms',
    );
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /backfill of orders done: 500 rows updated/);
    assert.match(first.stderr, /500\/500 scanned, 500 updated, \d+ rows\/s/);
    assert.equal(
      (await pgServer.query<{ n: string }>('shop', 'SELECT count(*) AS n FROM orders WHERE total IS NULL'))[0]!.n,
      '0',
    );
    const fill = ['db', 'backfill', 'web', '--table', 'orders', '--set', 'total = total_cents / 100.0'];
    const again = await cli(...fill, '--where', 'total IS NULL');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /finished at .* \(500 rows updated\); nothing was done now/);
    assert.match(again.stdout, /`--again` starts a new pass/);
    await pgServer.query('shop', 'INSERT INTO orders (total_cents) SELECT g FROM generate_series(1, 7) g');
    const pass = await cli(...fill, '--where', 'total IS NULL', '--again');
    assert.equal(pass.code, 0, pass.stderr);
    assert.match(pass.stdout, /backfill of orders done: 7 rows updated/);
    const bad = await cli('db', 'backfill', 'web', '--table', 'orders', '--set', 'total = 1', '--batch', 'lots');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--batch: expected a whole number/);
  });
});
