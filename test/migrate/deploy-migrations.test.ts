import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CutoverError } from '../../src/core/errors.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import type { BackupRecord } from '../../src/store/backup-store.js';
import type { PlannedMigration } from '../../src/migrate/migration-plan.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { operate, sleep, versionAt } from '../support/operations.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';

/**
 * Migrations tied to deploys, against a real PostgreSQL and a real cutover
 * server: each version has its own migrations directory (`${VERSION}` in
 * database.migrations), as a checkout of that version would.
 */
describe('migrations with deploys', () => {
  let pgServer: PostgresServer;
  let h: Harness;
  let root: string;
  let url: string;

  const writeVersion = (version: string, files: Record<string, string>): void => {
    for (const [name, sql] of Object.entries(files)) {
      const file = path.join(root, version, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, sql);
    }
  };
  const columns = async (): Promise<string[]> =>
    (
      await pgServer.query<{ column_name: string }>(
        'app',
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position",
      )
    ).map((r) => r.column_name);
  const migrationStates = async (): Promise<Record<string, string>> => {
    const answer = await h.client.request<{ migrations: PlannedMigration[] }>('GET', '/api/v1/services/web/migrations');
    return Object.fromEntries(answer.migrations.map((m) => [m.id, m.state]));
  };

  before(async () => {
    pgServer = await startPostgres();
    url = await pgServer.createDatabase('app');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-app-migrations-'));
    const v1 = {
      '0001_users.sql':
        'CREATE TABLE users (id bigserial PRIMARY KEY, first_name text, last_name text, legacy_flags text);',
    };
    writeVersion('v1', v1);
    // Files in folders that are not expand/ or contract/ are never run: said, not passed over.
    writeVersion('v1', {
      'down/0001_users_undo.sql': 'DROP TABLE users;',
      'expand/archive/0000_old.sql': 'CREATE TABLE old_users (id bigint);',
    });
    // v2 stops using legacy_flags; dropping it in an expand migration would break v1 while it still runs.
    writeVersion('v2-unsafe', {
      ...v1,
      '0002_drop_legacy.sql': "SET lock_timeout = '2s';\nALTER TABLE users DROP COLUMN legacy_flags;",
    });
    writeVersion('v2', {
      ...v1,
      'expand/0002_full_name.sql': "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN full_name text;",
      'contract/0003_drop_legacy.sql': "SET lock_timeout = '2s';\nALTER TABLE users DROP COLUMN legacy_flags;",
    });
    h = await startHarness({
      instances: 1,
      strategy: '{ type: blue-green, auto_switch: true, scale_down_delay: 1h, timeout: 20s }',
      extraServiceYaml: `    database:\n      url: "${url.replace('postgres@', 'postgres:not-needed@')}"\n      migrations: ${root}/\${VERSION}\n      backup: { before_deploy: true, keep: 2 }\n      lock_timeout: 2s\n`,
    });
  });
  after(async () => {
    await h?.close();
    await pgServer?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('applies the expand migrations before the first release starts, after a labelled backup', async () => {
    const { operation, events } = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(operation.outcome, 'succeeded');
    assert.deepEqual(await columns(), ['id', 'first_name', 'last_name', 'legacy_flags']);
    const ignored = events.find((e) => e.type === 'migration.ignored');
    assert.deepEqual((ignored?.data as { files?: string[] } | undefined)?.files, [
      'down/0001_users_undo.sql',
      'expand/archive/0000_old.sql',
    ]);
    assert.match(
      ignored?.message ?? '',
      /down\/0001_users_undo\.sql, expand\/archive\/0000_old\.sql in .* are not run/,
    );
    const status = await h.client.request<{ migrations: PlannedMigration[]; ignored: string[] }>(
      'GET',
      '/api/v1/services/web/migrations',
    );
    assert.deepEqual(status.ignored, ['down/0001_users_undo.sql', 'expand/archive/0000_old.sql']);
    assert.deepEqual(
      status.migrations.map((m) => m.id),
      ['0001_users'],
    );
    const { backups } = await h.client.request<{ backups: BackupRecord[] }>('GET', '/api/v1/services/web/backups');
    assert.equal(backups[0]?.label, 'pre-v1');
    assert.equal(backups[0]?.database, 'app');
    assert.ok(fs.statSync(backups[0].file).size > 0);
    const snapshot = await h.client.request<{ releases: { config: { database: { url: string } } }[] }>(
      'GET',
      '/api/v1/services/web/history',
    );
    assert.match(
      snapshot.releases[0]!.config.database.url,
      /postgres:\/\/postgres:\[redacted\]@127\.0\.0\.1/,
      'the release snapshot does not keep the database password',
    );
  });

  it('refuses a deploy whose migration drops a column the running release uses, before anything starts', async () => {
    const before = await h.client.request<ServiceStatus>('GET', '/api/v1/services/web');
    const releasesBefore = (await h.client.request<{ releases: unknown[] }>('GET', '/api/v1/services/web/history'))
      .releases.length;
    await assert.rejects(
      h.client.request('POST', '/api/v1/services/web/deploy', { version: 'v2-unsafe', actor: 'test' }),
      (error: CutoverError) => {
        assert.equal(error.code, 'MIGRATION_LINT_FAILED');
        assert.match(error.message, /0002_drop_legacy\.sql:2:\d+ drop-column/);
        return true;
      },
    );
    assert.deepEqual(await columns(), ['id', 'first_name', 'last_name', 'legacy_flags'], 'the column is still there');
    const after = await h.client.request<ServiceStatus>('GET', '/api/v1/services/web');
    assert.equal(after.active?.releaseId, before.active?.releaseId);
    assert.equal(after.lock, null, 'the deploy lock was given back');
    assert.equal(
      (await h.client.request<{ releases: unknown[] }>('GET', '/api/v1/services/web/history')).releases.length,
      releasesBefore,
      'no release was created',
    );
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1');
  });

  it('runs the same drop as a contract migration only once the old release is retired', async () => {
    const { operation } = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
    assert.equal(operation.outcome, 'succeeded');
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2');
    assert.deepEqual(
      await columns(),
      ['id', 'first_name', 'last_name', 'legacy_flags', 'full_name'],
      'expand ran, contract waits: v1 is kept for rollback',
    );
    const states = await migrationStates();
    assert.deepEqual(states, { '0001_users': 'applied', '0002_full_name': 'applied', '0003_drop_legacy': 'blocked' });
    const status = await h.client.request<{ migrations: PlannedMigration[] }>('GET', '/api/v1/services/web/migrations');
    assert.match(status.migrations[2]!.reason ?? '', /release web-1 \(v1\) still runs and predates it/);

    // Asking does not help while v1 runs.
    assert.deepEqual(
      (await h.client.request<{ applied: string[] }>('POST', '/api/v1/services/web/migrations/run', {})).applied,
      [],
    );

    const cleanup = await operate(h.client, '/api/v1/services/web/cleanup', {});
    assert.equal(cleanup.operation.outcome, 'succeeded');
    // The cleanup waits for the contract step and says what it applied, in its own output.
    assert.ok(!(await columns()).includes('legacy_flags'), 'the contract migration ran once v1 stopped');
    const contracted = cleanup.events.find((e) => e.type === 'migration.contracted');
    assert.match(contracted?.message ?? '', /contract migration applied: 0003_drop_legacy/);
    assert.match(contracted?.message ?? '', /rollback to them is refused/);
    assert.deepEqual(await migrationStates(), {
      '0001_users': 'applied',
      '0002_full_name': 'applied',
      '0003_drop_legacy': 'applied',
    });
  });

  it('backs up with a label, outside the automatic retention, and restores one', async () => {
    await pgServer.query('app', "INSERT INTO users (first_name, last_name) VALUES ('Grace', 'Hopper')");
    const made = await h.client.request<{ backup: BackupRecord }>('POST', '/api/v1/services/web/backups', {
      label: 'before-v3',
      actor: 'test',
    });
    assert.equal(made.backup.label, 'before-v3');
    const { backups } = await h.client.request<{ backups: BackupRecord[] }>('GET', '/api/v1/services/web/backups');
    // keep: 2 trims the automatic pre-* backups among themselves; a manual one never counts (issue 12, finding 17).
    assert.deepEqual(
      backups.map((b) => b.label),
      ['before-v3', 'pre-v2', 'pre-v1'],
    );
    await pgServer.query('app', 'DELETE FROM users');
    await h.client.request('POST', '/api/v1/services/web/backups/restore', { backup: 'before-v3', actor: 'test' });
    const rows = await pgServer.query<{ first_name: string }>('app', 'SELECT first_name FROM users');
    assert.deepEqual(
      rows.map((r) => r.first_name),
      ['Grace'],
    );
    await assert.rejects(h.client.request('POST', '/api/v1/services/web/backups/restore', { backup: 'nope' }), {
      code: 'BACKUP_NOT_FOUND',
    });
    await assert.rejects(
      h.client.request('POST', '/api/v1/services/web/backups', { label: 'bad label!' }),
      /label: expected letters/,
    );
  });

  it('refuses a rollback to a release older than an applied contract migration, until a restore or --force', async () => {
    // v2 serves; v1 stopped, and 0003_drop_legacy (which v1 did not know) dropped a column v1 may read.
    const rollback = (body: object = {}): Promise<unknown> =>
      h.client.request('POST', '/api/v1/services/web/rollback', { actor: 'test', ...body });
    await assert.rejects(rollback(), (error: CutoverError) => {
      assert.equal(error.code, 'ROLLBACK_PAST_CONTRACT');
      assert.match(error.message, /v1 \(web-1\) predates the contract migration 0003_drop_legacy \(applied /);
      assert.match(
        error.hint ?? '',
        /cutover db restore web --backup pre-v2/,
        'names the backup taken before the migration',
      );
      assert.match(error.hint ?? '', /--force --reason/);
      return true;
    });
    await assert.rejects(rollback({ force: true }), /force: say why with a reason/);
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2', 'a refused rollback moves nothing');
    assert.equal((await h.client.request<ServiceStatus>('GET', '/api/v1/services/web')).lock, null);

    const forced = await operate(h.client, '/api/v1/services/web/rollback', { force: true, reason: 'v1 ignores it' });
    assert.equal(forced.operation.outcome, 'succeeded');
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1');
    const note = forced.events.find((e) => e.type === 'rollback.forced');
    assert.match(
      note?.message ?? '',
      /forced by test past contract migration 0003_drop_legacy .*reason: v1 ignores it/,
    );

    // Nothing older than v1 is kept, and a rollback never goes forward to v2: it says how to reach it.
    await assert.rejects(rollback(), (error: CutoverError) => {
      assert.equal(error.code, 'NOTHING_TO_ROLL_BACK');
      assert.match(error.hint ?? '', /never goes forward; v2 \(web-2\) is newer: `cutover rollback web --to web-2`/);
      return true;
    });
    const forward = await operate(h.client, '/api/v1/services/web/rollback', { to: 'web-2' });
    assert.equal(forward.operation.outcome, 'succeeded');
    assert.match(forward.events[0]?.message ?? '', /rollback of web from v1 \(web-1\) to v2 \(web-2\)/);
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2');

    // The next thing a refused person tries: deploying the old version anew. Its own migrations directory
    // does not have 0003: it predates it as the rollback's target did, and is refused the same way.
    const releasesBefore = (await h.client.request<{ releases: unknown[] }>('GET', '/api/v1/services/web/history'))
      .releases.length;
    await assert.rejects(
      h.client.request('POST', '/api/v1/services/web/deploy', { version: 'v1', actor: 'test' }),
      (error: CutoverError) => {
        assert.equal(error.code, 'ROLLBACK_PAST_CONTRACT');
        assert.match(error.message, /^v1 predates the contract migration 0003_drop_legacy \(applied /);
        assert.match(error.message, /the deploy did not start/);
        assert.match(error.hint ?? '', /cutover db restore web --backup pre-v2/);
        assert.match(error.hint ?? '', /copy the file into .*\/v1\/contract\//);
        return true;
      },
    );
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2', 'a refused deploy moves nothing');
    assert.equal(
      (await h.client.request<{ releases: unknown[] }>('GET', '/api/v1/services/web/history')).releases.length,
      releasesBefore,
      'and starts no release',
    );

    // Restoring the backup from before the contract migration brings back the column and the history: v1 may serve.
    await assert.rejects(rollback(), { code: 'ROLLBACK_PAST_CONTRACT' });
    await h.client.request('POST', '/api/v1/services/web/backups/restore', { backup: 'pre-v2', actor: 'test' });
    assert.ok((await columns()).includes('legacy_flags'));
    const restored = await operate(h.client, '/api/v1/services/web/rollback', {});
    assert.equal(restored.operation.outcome, 'succeeded');
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1');
  });

  it('lints pending migrations as the runner runs them: its lock_timeout, and tables new in the same deploy', async () => {
    writeVersion('v3', {
      ...Object.fromEntries(
        ['0001_users.sql', 'expand/0002_full_name.sql', 'contract/0003_drop_legacy.sql'].map((name) => [
          name,
          fs.readFileSync(path.join(root, 'v2', name), 'utf8'),
        ]),
      ),
      // No SET lock_timeout in any of them: database.lock_timeout (2s) is set by the runner before each file.
      'expand/0004_orders.sql': 'CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint, total numeric);',
      'expand/0005_orders_by_user.sql': 'CREATE INDEX orders_by_user ON orders (user_id);',
      'expand/0006_users_email.sql': 'ALTER TABLE users ADD COLUMN email text;',
    });
    const { operation, events } = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v3' });
    assert.equal(operation.outcome, 'succeeded', JSON.stringify(operation.error));
    assert.deepEqual(
      events.filter((event) => event.type === 'migration.lint-warning').map((event) => event.message),
      [],
      'nothing to warn about',
    );
    assert.deepEqual(
      (
        await pgServer.query<{ indexname: string }>(
          'app',
          "SELECT indexname FROM pg_indexes WHERE tablename = 'orders'",
        )
      )
        .map((r) => r.indexname)
        .sort(),
      ['orders_by_user', 'orders_pkey'],
    );
    assert.ok((await columns()).includes('email'));
  });
});

describe("a team's own migration tool", () => {
  let pgServer: PostgresServer;
  let h: Harness;
  let dir: string;
  const runs = async (): Promise<string[]> =>
    (
      await pgServer.query<{ phase: string; version: string }>(
        'tooldb',
        'SELECT phase, version FROM tool_runs ORDER BY at',
      )
    ).map((r) => `${r.phase} ${r.version}`);

  before(async () => {
    pgServer = await startPostgres();
    const url = await pgServer.createDatabase('tooldb');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-tool-'));
    // Stands in for alembic / prisma / knex: records each run, as those tools' own history tables would.
    const tool = path.join(dir, 'migrate.sh');
    fs.writeFileSync(
      tool,
      [
        'set -e',
        'psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q -c "CREATE TABLE IF NOT EXISTS tool_runs (phase text, version text, service text, at timestamptz DEFAULT clock_timestamp())"',
        "psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -q -c \"INSERT INTO tool_runs (phase, version, service) VALUES ('$CUTOVER_PHASE', '$VERSION', '$CUTOVER_SERVICE')\"",
        'if [ "$VERSION" = "v-broken" ]; then echo "alembic: Target database is not up to date" >&2; exit 2; fi',
        '',
      ].join('\n'),
    );
    h = await startHarness({
      instances: 1,
      strategy: '{ type: blue-green, auto_switch: true, scale_down_delay: 1h, timeout: 20s }',
      extraServiceYaml: `    database:\n      url: ${url}\n      backup: { before_deploy: false }\n      commands: { expand: "sh ${tool}", contract: "sh ${tool}" }\n`,
    });
  });
  after(async () => {
    await h?.close();
    await pgServer?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the expand command before each release starts and the contract command once the old release stopped', async () => {
    assert.equal(
      (await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' })).operation.outcome,
      'succeeded',
    );
    assert.deepEqual(await runs(), ['expand v1']);
    assert.equal(
      (await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' })).operation.outcome,
      'succeeded',
    );
    assert.deepEqual(await runs(), ['expand v1', 'expand v2'], 'no contract while v1 is kept for rollback');
    await operate(h.client, '/api/v1/services/web/cleanup', {});
    const deadline = Date.now() + 20_000;
    while ((await runs()).length < 3) {
      assert.ok(Date.now() < deadline, 'the contract command ran after v1 stopped');
      await sleep(100);
    }
    assert.deepEqual(await runs(), ['expand v1', 'expand v2', 'contract v2']);
  });

  it('stops the deploy when the expand command fails, with its output, before the release starts', async () => {
    await assert.rejects(
      h.client.request('POST', '/api/v1/services/web/deploy', { version: 'v-broken', actor: 'test' }),
      (error: CutoverError) => {
        assert.equal(error.code, 'MIGRATION_FAILED');
        assert.match(error.message, /exited with 2: [\s\S]*alembic: Target database is not up to date/);
        return true;
      },
    );
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2');
    const status = await h.client.request<ServiceStatus>('GET', '/api/v1/services/web');
    assert.equal(status.lock, null);
  });
});
