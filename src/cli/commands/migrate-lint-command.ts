import { Option, type Command } from 'commander';
import v8 from 'node:v8';
import { formatDuration, parseDuration } from '../../config/duration.js';
import { CutoverError, isCutoverError } from '../../core/errors.js';
import { runnerLockTimeoutFor, type RunnerLockTimeout } from './runner-lock-timeout.js';
import type { LintFilesOptions, LintRun, MigrationPhase } from '../../migrate/lint/index.js';
import { ALL_RULES } from '../../migrate/lint/rules/rule-catalogue.js';

/**
 * `cutover migrate lint <paths...>`: lints PostgreSQL migration files for
 * statements that lock, rewrite or break the running release. Exits 1 when
 * there is an error finding (or, with --strict, any finding), so CI and the
 * deploy can stop on it.
 */
export type MigrateLintFormat = 'text' | 'json' | 'sarif';

export interface MigrateLintOptions {
  format?: MigrateLintFormat;
  strict?: boolean;
  phase?: MigrationPhase;
  /** Paths in the report are relative to it (default: the working directory). */
  cwd?: string;
  /** The lock_timeout the runner sets before each file (cutover's: database.lock_timeout); 0 or absent: none. */
  lockTimeoutMs?: number;
  /** The statement_timeout the runner sets before each file (database.statement_timeout); 0 or absent: none. */
  statementTimeoutMs?: number;
  /**
   * A PostgreSQL URL whose catalog the lint reads (function volatility, NOT NULL
   * proofs of earlier migrations, table sizes); unreachable: it lints without it.
   */
  database?: string;
}

export interface MigrateLintAnswer {
  exitCode: number;
  output: string;
  run: LintRun;
}

export async function runMigrateLint(
  paths: readonly string[],
  options: MigrateLintOptions = {},
): Promise<MigrateLintAnswer> {
  // The linter (and libpg-query's WASM parser) loads here, not with the command tree: `cutover --help` never needs
  // it; and of the three formats, only the one asked for (every module costs a lint's start-up; see bench/README.md).
  const [{ lintFiles }, format] = await Promise.all([
    import('../../migrate/lint/lint-files.js'),
    formatterOf(options.format ?? 'text'),
  ]);
  const run = await lintFiles(paths, {
    phase: options.phase,
    cwd: options.cwd,
    lockTimeoutMs: options.lockTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs,
    readCatalog: readCatalogOf(options.database),
  });
  const failing = run.summary.errors > 0 || (Boolean(options.strict) && run.summary.warnings > 0);
  return { exitCode: failing ? 1 : 0, output: format(run), run };
}

async function formatterOf(format: MigrateLintFormat): Promise<(run: LintRun) => string> {
  if (format === 'json') return (await import('../../migrate/lint/json-format.js')).formatJson;
  if (format === 'sarif') return (await import('../../migrate/lint/sarif-format.js')).formatSarif;
  return (await import('../../migrate/lint/text-format.js')).formatText;
}

/** pg is loaded only with --database: a lint without it never pays for the driver. */
function readCatalogOf(url: string | undefined): LintFilesOptions['readCatalog'] {
  if (url === undefined) return undefined;
  return async (questions) => {
    const { readDatabaseCatalog } = await import('../../migrate/database-catalog-reader.js');
    return readDatabaseCatalog(url, questions);
  };
}

const RULES_HELP = [
  '',
  'Rules (disable one with a reason: -- cutover-lint-disable-next-statement <rule-id>: <why it is safe here>,',
  'or for the whole file with -- cutover-lint-disable <rule-id>: <reason> at its top):',
  ...ALL_RULES.map((rule) => `  ${rule.id.padEnd(34)} ${rule.severity.padEnd(8)} ${rule.summary}`),
  '',
  'Phase: a file in an expand/ or contract/ folder, or with a "-- cutover:phase contract" header (default: expand).',
  'A file runs as one transaction unless it has a "-- cutover:no-transaction" header, a CONCURRENTLY',
  'statement or VACUUM, or its own BEGIN ... COMMIT; then each statement runs on its own.',
].join('\n');

/** `write` is where the report goes (stdout; a test passes its own). */
export function registerMigrateLintCommand(
  parent: Command,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Command {
  return parent
    .command('lint <paths...>')
    .description(
      'lint PostgreSQL migrations (files or directories of .sql files) for locks, rewrites and changes that break the running release',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'))
    .option('--strict', 'exit 1 on warnings too')
    .addOption(
      new Option('--phase <phase>', 'treat every file as this phase (default: by folder or header)').choices([
        'expand',
        'contract',
      ]),
    )
    .option(
      '--lock-timeout <duration>',
      'the lock_timeout the runner sets before each file (default: database.lock_timeout of the service in cutover.yaml whose migrations these are; none without it)',
    )
    .option(
      '--statement-timeout <duration>',
      'the statement_timeout the runner sets before each file (default: database.statement_timeout of the same service; none without it)',
    )
    .option(
      '--database <url>',
      "read this PostgreSQL database's catalog (read-only): function volatility, NOT NULL proofs of earlier migrations, table sizes to rank findings by; unreachable: lints without it, with a warning",
    )
    .addHelpText('after', RULES_HELP)
    .action(
      async (
        paths: string[],
        options: {
          format: MigrateLintFormat;
          strict?: boolean;
          phase?: MigrationPhase;
          lockTimeout?: string;
          statementTimeout?: string;
          database?: string;
        },
        command: Command,
      ) => {
        keepParserOnBaselineTier();
        const timeouts = await timeoutsOf(options, paths, command);
        const answer = await runMigrateLint(paths, { ...options, ...timeouts });
        if (answer.run.catalog && !answer.run.catalog.read)
          process.stderr.write(
            `warning: --database not read (${answer.run.catalog.reason}); linted without the catalog\n`,
          );
        write(answer.output);
        process.exitCode = answer.exitCode;
      },
    );
}

/**
 * libpg-query is PostgreSQL's parser compiled to WebAssembly. V8 starts it on
 * its baseline compiler (Liftoff) and recompiles the hot functions with
 * TurboFan in the background; a lint is over before that pays off, and on a
 * busy machine the recompiling competes with the lint itself (a 2,000-statement
 * file took 1.2-1.5 s with tier-up, 0.55 s without; see bench/README.md).
 * A CLI process lints once and exits, so it stays on Liftoff. It also checks
 * each WASM function when it is first called rather than all of them when the
 * module loads: a lint calls few of the parser's 526 functions (31 M fewer
 * instructions of the ~400 M its start takes, counted with cachegrind). Set
 * before the module is compiled; a long-lived process (the server's deploy
 * linter) keeps the defaults.
 */
function keepParserOnBaselineTier(): void {
  v8.setFlagsFromString('--liftoff-only');
  v8.setFlagsFromString('--wasm-lazy-validation');
}

function givenDuration(flag: string, given: string | undefined): number | undefined {
  if (given === undefined) return undefined;
  const parsed = parseDuration(given, { allowZero: true });
  if (!parsed.ok) throw new CutoverError('BAD_REQUEST', `${flag}: ${parsed.expected}, got ${JSON.stringify(given)}`);
  return parsed.ms;
}

/** --lock-timeout and --statement-timeout, else what the runner will set from cutover.yaml. */
async function timeoutsOf(
  options: { lockTimeout?: string; statementTimeout?: string },
  paths: readonly string[],
  command: Command,
): Promise<{ lockTimeoutMs: number; statementTimeoutMs: number }> {
  const lock = givenDuration('--lock-timeout', options.lockTimeout);
  const statement = givenDuration('--statement-timeout', options.statementTimeout);
  if (lock !== undefined && statement !== undefined) return { lockTimeoutMs: lock, statementTimeoutMs: statement };
  const runner = await runnerTimeoutsOf(paths, command);
  return { lockTimeoutMs: lock ?? runner?.ms ?? 0, statementTimeoutMs: statement ?? runner?.statementMs ?? 0 };
}

/** What the runner will set from cutover.yaml (said on stderr, so the report stays as it was). */
async function runnerTimeoutsOf(paths: readonly string[], command: Command): Promise<RunnerLockTimeout | null> {
  const configFile = command.optsWithGlobals<{ config?: string }>().config ?? 'cutover.yaml';
  // Linting needs no config: one that does not load only costs this knowledge, and says so.
  const runner = await runnerLockTimeoutFor(configFile, paths, process.cwd()).catch((error: unknown) => {
    const why = isCutoverError(error) ? `${error.code}: ${error.message.split('\n')[0]}` : String(error);
    process.stderr.write(`note: ${configFile} not read (${why}); pass --lock-timeout to lint as the runner runs\n`);
    return null;
  });
  if (runner === null) return null;
  process.stderr.write(
    `linting as cutover's runner runs these files: lock_timeout ${formatDuration(runner.ms)}, statement_timeout ${formatDuration(runner.statementMs)} (${runner.from})\n`,
  );
  return runner;
}
