import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerMigrateLintCommand, runMigrateLint } from '../../../src/cli/commands/migrate-lint-command.js';
import { ALL_RULES } from '../../../src/migrate/lint/index.js';
import { CutoverError } from '../../../src/core/errors.js';

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  locations: Array<{ physicalLocation: { artifactLocation: unknown; region: unknown } }>;
}

/** A migrations folder as a team would have it: one expand file with an error and a warning, one clean contract file. */
let root = '';
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cutover-lint-'));
  await mkdir(path.join(root, 'expand'));
  await mkdir(path.join(root, 'contract'));
  await writeFile(
    path.join(root, 'expand', '001_add.sql'),
    "-- ajout d'une colonne\nALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();\n",
  );
  await writeFile(
    path.join(root, 'contract', '002_drop.sql'),
    "SET lock_timeout = '5s';\nALTER TABLE users DROP COLUMN legacy;\n",
  );
  await writeFile(
    path.join(root, 'warning-only.sql'),
    'DROP INDEX CONCURRENTLY a;\nVACUUM (ANALYZE) users;\nSET lock_timeout = 0;\nDROP INDEX b;\n',
  );
  await writeFile(path.join(root, 'notes.txt'), 'not a migration');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('cutover migrate lint output', () => {
  it('text: file:line:col severity rule-id message, the statement, the safe alternative, a summary', async () => {
    const answer = await runMigrateLint(['expand', 'contract'], { cwd: root });
    assert.equal(answer.exitCode, 1);
    const lines = answer.output.split('\n');
    assert.match(
      lines[0] ?? '',
      /^expand\/001_add\.sql:2:1 error add-column-volatile-default Adding column token to users rewrites the whole table under an ACCESS EXCLUSIVE lock/,
    );
    assert.equal(lines[1], '  > ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()');
    assert.equal(lines[2], '  safe alternative:');
    assert.equal(lines[3], '    ALTER TABLE users ADD COLUMN token uuid;');
    assert.match(answer.output, /expand\/001_add\.sql:2:1 warning missing-lock-timeout /);
    assert.match(answer.output, /expand\/001_add\.sql:2:1 warning missing-statement-timeout /);
    assert.match(answer.output, /\n1 error, 2 warnings in 2 files\n$/);
  });

  it('json: the findings with every field, a summary, and how each file will run', async () => {
    const answer = await runMigrateLint(['.'], { cwd: root, format: 'json' });
    const report = JSON.parse(answer.output) as {
      version: number;
      summary: unknown;
      files: unknown[];
      findings: Array<Record<string, unknown>>;
    };
    assert.equal(report.version, 1);
    assert.deepEqual(report.summary, { files: 3, errors: 1, warnings: 4 });
    assert.deepEqual(report.files, [
      { file: 'contract/002_drop.sql', phase: 'contract', phaseSource: 'folder', transaction: 'single' },
      { file: 'expand/001_add.sql', phase: 'expand', phaseSource: 'folder', transaction: 'single' },
      { file: 'warning-only.sql', phase: 'expand', phaseSource: 'default', transaction: 'per-statement' },
    ]);
    assert.deepEqual(Object.keys(report.findings[0] ?? {}).sort(), [
      'column',
      'endColumn',
      'endLine',
      'file',
      'line',
      'message',
      'ruleId',
      'safeAlternative',
      'severity',
      'statement',
    ]);
    assert.deepEqual(
      report.findings.map((f) => `${String(f.file)}:${String(f.line)} ${String(f.ruleId)}`),
      [
        'expand/001_add.sql:2 add-column-volatile-default',
        'expand/001_add.sql:2 missing-lock-timeout',
        'expand/001_add.sql:2 missing-statement-timeout',
        'warning-only.sql:4 drop-index-not-concurrently',
        'warning-only.sql:4 missing-lock-timeout',
      ],
    );
  });

  it('sarif: SARIF 2.1.0 with every rule and its help, and results with regions', async () => {
    const answer = await runMigrateLint(['expand'], { cwd: root, format: 'sarif' });
    const log = JSON.parse(answer.output) as {
      version: string;
      $schema: string;
      runs: Array<{
        tool: {
          driver: {
            name: string;
            rules: Array<{ id: string; help: { text: string }; defaultConfiguration: { level: string } }>;
          };
        };
        columnKind: string;
        results: SarifResult[];
      }>;
    };
    assert.equal(log.version, '2.1.0');
    assert.match(log.$schema, /sarif-schema-2\.1\.0\.json$/);
    const run = log.runs[0];
    assert.ok(run);
    assert.deepEqual(
      run.tool.driver.rules.map((rule) => rule.id),
      ALL_RULES.map((rule) => rule.id),
    );
    const volatile = run.tool.driver.rules.find((rule) => rule.id === 'add-column-volatile-default');
    assert.match(volatile?.help.text ?? '', /Safe alternative: Add the column without a default/);
    assert.equal(volatile?.defaultConfiguration.level, 'error');
    assert.equal(run.columnKind, 'unicodeCodePoints');
    const [first] = run.results;
    assert.equal(first?.ruleId, 'add-column-volatile-default');
    assert.equal(run.tool.driver.rules[first?.ruleIndex ?? -1]?.id, 'add-column-volatile-default');
    assert.equal(first?.level, 'error');
    assert.deepEqual(first?.locations[0]?.physicalLocation.artifactLocation, {
      uri: 'expand/001_add.sql',
      uriBaseId: 'SRCROOT',
    });
    assert.deepEqual(first?.locations[0]?.physicalLocation.region, {
      startLine: 2,
      startColumn: 1,
      endLine: 2,
      endColumn: 66,
      snippet: { text: 'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()' },
    });
    assert.equal(run.results[1]?.level, 'warning');
  });
});

describe('cutover migrate lint exit status', () => {
  it('is 0 for warnings alone, and 1 with --strict', async () => {
    assert.equal((await runMigrateLint(['warning-only.sql'], { cwd: root })).exitCode, 0);
    assert.equal((await runMigrateLint(['warning-only.sql'], { cwd: root, strict: true })).exitCode, 1);
    assert.equal((await runMigrateLint(['contract'], { cwd: root, strict: true })).exitCode, 0);
  });

  it('fails with a CutoverError on a path that does not exist', async () => {
    await assert.rejects(
      runMigrateLint(['nope'], { cwd: root }),
      (error: unknown) => error instanceof CutoverError && /nope: no such file/.test(error.message),
    );
  });
});

describe('the commander command', () => {
  /** The way the lead wires it: `cutover migrate lint ...`. */
  function program(written: string[]): Command {
    const cli = new Command('cutover').exitOverride();
    const migrate = cli.command('migrate').exitOverride();
    registerMigrateLintCommand(migrate, (text) => written.push(text))
      .exitOverride()
      .configureOutput({ writeErr: () => undefined });
    return cli;
  }

  it('adds `lint <paths...>` with --format, --strict and --phase to the migrate command', async () => {
    const written: string[] = [];
    const cwd = process.cwd();
    try {
      process.chdir(root);
      await program(written).parseAsync([
        'node',
        'cutover',
        'migrate',
        'lint',
        'expand',
        '--format',
        'json',
        '--phase',
        'contract',
        '--strict',
      ]);
    } finally {
      process.chdir(cwd);
    }
    const exitCode = process.exitCode;
    process.exitCode = 0;
    assert.equal(exitCode, 1);
    const report = JSON.parse(written.join('')) as { files: Array<{ phase: string; phaseSource: string }> };
    assert.deepEqual(
      report.files.map((file) => `${file.phase}/${file.phaseSource}`),
      ['contract/option'],
    );
  });

  it('refuses an unknown format or phase before linting anything', async () => {
    for (const args of [
      ['--format', 'xml'],
      ['--phase', 'migrate'],
    ]) {
      const written: string[] = [];
      await assert.rejects(
        program(written).parseAsync(['node', 'cutover', 'migrate', 'lint', root, ...args]),
        /argument '.*' is invalid/,
      );
      assert.deepEqual(written, []);
    }
  });

  it('lints as the runner runs: --lock-timeout/--statement-timeout, or the database settings of the service whose migrations these are', async () => {
    const lint = async (
      args: string[],
      configYaml?: string,
      sql = 'ALTER TABLE users ADD COLUMN email text;\n',
    ): Promise<string> => {
      const written: string[] = [];
      const cwd = process.cwd();
      const project = await mkdtemp(path.join(tmpdir(), 'cutover-lint-project-'));
      try {
        await mkdir(path.join(project, 'migrations', 'v2'), { recursive: true });
        await writeFile(path.join(project, 'migrations', 'v2', '0002_email.sql'), sql);
        if (configYaml !== undefined) await writeFile(path.join(project, 'cutover.yaml'), configYaml);
        process.chdir(project);
        await program(written).parseAsync(['node', 'cutover', 'migrate', 'lint', 'migrations/v2', ...args]);
      } finally {
        process.chdir(cwd);
        process.exitCode = 0;
        await rm(project, { recursive: true, force: true });
      }
      return written.join('');
    };
    const service = (database: string): string =>
      `services:\n  web:\n    command: ./web\n    database:\n      url: postgres://db/app\n${database}`;
    assert.match(await lint([]), /warning missing-lock-timeout/, 'a lone file is asked for one');
    assert.match(await lint(['--lock-timeout', '5s']), /^no findings in 1 file/);
    assert.match(
      await lint([], service('      migrations: migrations/${VERSION}\n      lock_timeout: 5s\n')),
      /^no findings in 1 file/,
    );
    assert.match(
      await lint([], service('      migrations: elsewhere\n      lock_timeout: 5s\n')),
      /warning missing-lock-timeout/,
      "another directory's settings do not apply",
    );
    // A rewrite asks for a statement_timeout, which --statement-timeout or database.statement_timeout supplies.
    const rewrite =
      "SET lock_timeout = '5s';\n-- cutover-lint-disable-next-statement rewrite-table: a staging table of a few rows\nALTER TABLE users SET LOGGED;\n";
    assert.match(await lint([], undefined, rewrite), /warning missing-statement-timeout/);
    assert.match(await lint(['--statement-timeout', '10m'], undefined, rewrite), /^no findings in 1 file/);
    assert.match(
      await lint([], service('      migrations: migrations/${VERSION}\n      statement_timeout: 10m\n'), rewrite),
      /^no findings in 1 file/,
    );
  });
});
