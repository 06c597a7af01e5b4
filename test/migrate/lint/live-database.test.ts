import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runMigrateLint } from '../../../src/cli/commands/migrate-lint-command.js';
import { CATALOG_UNAVAILABLE, deployLinter } from '../../../src/migrate/deploy-linter.js';
import type { MigrationFile } from '../../../src/migrate/migration-files.js';
import { findFreePort } from '../../../src/runtime/process/free-port.js';
import { runCli } from '../../support/cli-process.js';
import { startPostgres, type PostgresServer } from '../../support/postgres-server.js';

/**
 * `cutover migrate lint --database` against a real PostgreSQL: the database
 * an app's earlier migrations built, with a volatile and an immutable
 * function of its own, a column an earlier migration proved NOT NULL through
 * a validated CHECK, a table of 50,000 rows and an empty one. The catalog
 * turns the linter's guesses into knowledge: it drops what the database
 * disproves and ranks what is left by the size of the table it hurts.
 */
const EARLIER_MIGRATIONS = `
CREATE FUNCTION build_defaults() RETURNS jsonb LANGUAGE sql AS $$ SELECT jsonb_build_object('at', clock_timestamp()) $$;
CREATE FUNCTION fixed_defaults() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT '{"plan": "free"}'::jsonb $$;
CREATE TABLE users (id bigint PRIMARY KEY, email text);
ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
CREATE TABLE accounts (id bigint PRIMARY KEY, email text, "Name" text);
ALTER TABLE accounts ADD CONSTRAINT accounts_nn CHECK (email IS NOT NULL AND "Name" IS NOT NULL) NOT VALID;
ALTER TABLE accounts VALIDATE CONSTRAINT accounts_nn;
CREATE TABLE accounts_either (id bigint PRIMARY KEY, email text);
ALTER TABLE accounts_either ADD CONSTRAINT accounts_either_email CHECK (email IS NOT NULL OR id > 0);
CREATE TABLE users_unproved (id bigint PRIMARY KEY, email text);
ALTER TABLE users_unproved ADD CONSTRAINT users_unproved_email CHECK (email IS NOT NULL) NOT VALID;
CREATE TABLE orders (id bigint PRIMARY KEY, note text);
INSERT INTO orders SELECT g, repeat('x', 40) FROM generate_series(1, 50000) g;
CREATE TABLE audit_entries (id bigint PRIMARY KEY, note text);
ANALYZE;
`;

// The runner's timeouts, so only the rules under test speak.
const RUNNER = { lockTimeoutMs: 5_000, statementTimeoutMs: 300_000 };

let pgServer: PostgresServer;
let url = '';
let root = '';
let closedUrl = '';

const write = async (name: string, sql: string): Promise<string> => {
  const file = path.join(root, name);
  await writeFile(file, sql);
  return file;
};
const lint = async (files: string[], database?: string) =>
  (await runMigrateLint(files, { cwd: root, ...RUNNER, ...(database ? { database } : {}) })).run;

before(async () => {
  pgServer = await startPostgres();
  url = await pgServer.createDatabase('shop');
  await pgServer.query('shop', EARLIER_MIGRATIONS);
  root = await mkdtemp(path.join(tmpdir(), 'cutover-lint-live-'));
  // A port nothing listens on: the database that cannot be reached.
  closedUrl = `postgres://postgres@127.0.0.1:${await findFreePort()}/shop`;
});
after(async () => {
  await pgServer?.stop();
  await rm(root, { recursive: true, force: true });
});

describe('migrate lint --database', () => {
  it('flags a default calling a user function the database says is VOLATILE, not one it says is IMMUTABLE', async () => {
    const file = await write(
      'defaults.sql',
      'ALTER TABLE orders ADD COLUMN settings jsonb DEFAULT build_defaults();\n' +
        'ALTER TABLE orders ADD COLUMN plan jsonb DEFAULT fixed_defaults();\n',
    );
    const without = await lint([file]);
    assert.deepEqual(
      without.findings.map((f) => `${f.ruleId}@${f.line}`),
      ['add-column-volatile-default@1', 'add-column-volatile-default@2'],
      'without the database, a function it does not know counts as volatile',
    );

    const withDb = await lint([file], url);
    assert.deepEqual(withDb.catalog, { read: true, tables: 1, functions: 2 });
    assert.deepEqual(
      withDb.findings.map((f) => `${f.ruleId}@${f.line}`),
      ['add-column-volatile-default@1'],
    );
    assert.match(withDb.findings[0]!.message, /build_defaults\(\), which is VOLATILE in the database/);
  });

  it('lets SET NOT NULL through after a CHECK (col IS NOT NULL) an earlier migration validated', async () => {
    const proved = await write('proved.sql', 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n');
    assert.deepEqual(
      (await lint([proved])).findings.map((f) => f.ruleId),
      ['set-not-null'],
      'a lone file cannot see the earlier constraint',
    );
    assert.deepEqual((await lint([proved], url)).findings, []);

    // A validated check that ANDs NOT NULL tests proves each column (PostgreSQL skips the scan); one with OR, none.
    const both = await write(
      'both.sql',
      'ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;\nALTER TABLE accounts ALTER COLUMN "Name" SET NOT NULL;\n',
    );
    assert.deepEqual((await lint([both], url)).findings, []);
    const either = await write('either.sql', 'ALTER TABLE accounts_either ALTER COLUMN email SET NOT NULL;\n');
    assert.deepEqual(
      (await lint([either], url)).findings.map((f) => f.ruleId),
      ['set-not-null'],
    );

    // A check that was never validated proves nothing: PostgreSQL still scans.
    const unproved = await write('unproved.sql', 'ALTER TABLE users_unproved ALTER COLUMN email SET NOT NULL;\n');
    assert.deepEqual(
      (await lint([unproved], url)).findings.map((f) => f.ruleId),
      ['set-not-null'],
    );
  });

  it('ranks a finding on a large table above one on an empty table, and says how large', async () => {
    const empty = await write(
      '0001_audit.sql',
      'ALTER TABLE audit_entries ADD COLUMN ref uuid DEFAULT gen_random_uuid();\n',
    );
    const large = await write('0002_orders.sql', 'ALTER TABLE orders ADD COLUMN ref uuid DEFAULT gen_random_uuid();\n');
    assert.deepEqual(
      (await lint([empty, large])).findings.map((f) => f.file),
      ['0001_audit.sql', '0002_orders.sql'],
      'without the database: file order',
    );

    const ranked = await lint([empty, large], url);
    assert.deepEqual(
      ranked.findings.map((f) => f.file),
      ['0002_orders.sql', '0001_audit.sql'],
    );
    const [onOrders, onAudit] = ranked.findings;
    assert.match(onOrders!.message, /^rewrites `orders`, 50 k rows, ~\d+(\.\d)? MB: Adding column ref/);
    assert.equal(onOrders!.table?.rows, 50_000);
    assert.ok(onOrders!.table.bytes > 1_000_000, `orders is over a megabyte: ${onOrders!.table.bytes}`);
    assert.match(onAudit!.message, /^rewrites `audit_entries`, 0 rows, ~\d+ kB: /);
  });

  it('through the real CLI: ranked text report, and the catalog it read', async () => {
    await write('cli-1.sql', 'CREATE INDEX audit_note ON audit_entries (note);\n');
    await write('cli-2.sql', 'CREATE INDEX orders_note ON orders (note);\n');
    const answer = await runCli(['migrate', 'lint', '--database', url, 'cli-1.sql', 'cli-2.sql'], { cwd: root });
    assert.equal(answer.code, 1, answer.stderr);
    const orders = answer.stdout.indexOf(
      'cli-2.sql:1:1 error create-index-not-concurrently indexes `orders`, 50 k rows',
    );
    const audit = answer.stdout.indexOf('cli-1.sql:1:1 error create-index-not-concurrently indexes `audit_entries`');
    assert.ok(orders >= 0 && audit > orders, answer.stdout);
    assert.match(answer.stdout, /with the database's catalog: 2 tables, 0 functions looked up; biggest tables first/);
  });

  it('lints without the catalog, with a warning, when the database cannot be reached', async () => {
    const file = await write('clean.sql', 'ALTER TABLE orders ADD COLUMN plan jsonb DEFAULT fixed_defaults();\n');
    const run = await lint([file], closedUrl);
    assert.equal(run.catalog?.read, false);
    assert.deepEqual(
      run.findings.map((f) => f.ruleId),
      ['add-column-volatile-default'],
      'as without --database',
    );

    await write('safe.sql', 'ALTER TABLE orders ADD COLUMN plan jsonb;\n');
    const answer = await runCli(
      ['migrate', 'lint', '--lock-timeout', '5s', '--statement-timeout', '5m', '--database', closedUrl, 'safe.sql'],
      { cwd: root },
    );
    assert.equal(answer.code, 0, 'an unreachable database alone never fails the lint');
    assert.match(
      answer.stderr,
      /warning: --database not read \(postgres:\/\/postgres@127\.0\.0\.1:\d+\/shop: .*\); linted without the catalog/,
    );
    assert.match(answer.stdout, /no findings in 1 file\nwarning: the database was not read/);
  });
});

describe('the deploy linter with the service database', () => {
  const file = (id: string, sql: string): MigrationFile => ({
    id,
    file: `/app/migrations/${id}.sql`,
    phase: 'expand',
    checksum: id,
    sql,
    noTransaction: false,
  });

  it('reads the catalog of the database the deploy migrates', async () => {
    const files = [
      file('0003_plan', 'ALTER TABLE orders ADD COLUMN plan jsonb DEFAULT fixed_defaults();'),
      file('0004_email', 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;'),
      file('0005_settings', 'ALTER TABLE orders ADD COLUMN settings jsonb DEFAULT build_defaults();'),
    ];
    const lintFiles = deployLinter();
    assert.deepEqual(
      (await lintFiles(files, RUNNER)).map((p) => `${p.rule}@${p.file}`),
      [
        'add-column-volatile-default@0003_plan.sql',
        'set-not-null@0004_email.sql',
        'add-column-volatile-default@0005_settings.sql',
      ],
      'without the database url',
    );
    const problems = await lintFiles(files, { ...RUNNER, databaseUrl: url });
    assert.deepEqual(
      problems.map((p) => `${p.rule}@${p.file}`),
      ['add-column-volatile-default@0005_settings.sql'],
    );
    assert.match(problems[0]!.message, /^rewrites `orders`, 50 k rows/);
  });

  it('warns, and lints as before, when the database cannot be read', async () => {
    const problems = await deployLinter()([file('0003_plan', 'ALTER TABLE orders ADD COLUMN plan jsonb;')], {
      ...RUNNER,
      databaseUrl: closedUrl,
    });
    assert.deepEqual(
      problems.map((p) => `${p.rule}:${p.severity}`),
      [`${CATALOG_UNAVAILABLE}:warning`],
    );
  });
});
