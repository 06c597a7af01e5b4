import { CommanderError, type Command } from 'commander';
import { CutoverError } from '../core/errors.js';
import { EXIT } from './exit-codes.js';
import { endQuietlyWhenOutputCloses, reportError } from './output.js';
import { inCliTerms } from './request-errors-in-cli-terms.js';
import { lintOnlyRequested } from './root-command.js';
import { printVersion, versionRequested } from './version-flag.js';

/**
 * The CLI's entry (bin/cutover.js). It loads only the command tree it needs:
 * `migrate lint` runs in pre-commit hooks and CI, where start-up is most of
 * its time, so it gets a tree with that one command (lint-program.ts);
 * everything else gets the full one (cutover-program.ts).
 */
export async function main(argv: string[]): Promise<void> {
  endQuietlyWhenOutputCloses();
  if (versionRequested(argv.slice(2))) return printVersion(argv.includes('--json'));
  const cli = await programFor(argv.slice(2));
  try {
    await cli.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed the problem and the help already; --help and --version are not errors.
      const isError =
        error.code !== 'commander.helpDisplayed' &&
        error.code !== 'commander.version' &&
        error.code !== 'commander.help';
      // Commander's text went to stderr; a script that asked for --json parses stdout, which must hold the error too.
      if (isError && argv.includes('--json')) reportError(usageError(error), true);
      process.exitCode = isError ? EXIT.USAGE : EXIT.OK;
      return;
    }
    process.exitCode = reportError(inCliTerms(error, cli, argv.slice(2)), argv.includes('--json'));
    if (!(error instanceof CutoverError) && process.env.CUTOVER_DEBUG) console.error(error);
  }
}

/** Commander's "error: unknown option '--bogus'\n(Did you mean ...?)" as a CutoverError. */
function usageError(error: CommanderError): CutoverError {
  const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  return new CutoverError('USAGE_INVALID', message, { details: { commanderCode: error.code } });
}

async function programFor(args: readonly string[]): Promise<Command> {
  if (lintOnlyRequested(args)) return (await import('./lint-program.js')).lintProgram();
  return (await import('./cutover-program.js')).cutoverProgram();
}
