import { Command } from 'commander';
import { VERSION_HELP } from './version-flag.js';

/** The options every command takes (commander reads them before and after the command's name). */
export interface GlobalOptions {
  config: string;
  url?: string;
  token?: string;
  json?: boolean;
  timeout?: string;
}

/** The global options that take a value: `lintOnlyRequested` must skip the value too. */
const VALUE_OPTIONS = new Set(['-c', '--config', '--url', '--token', '--timeout']);
const FLAG_OPTIONS = new Set(['--json']);

/**
 * `cutover` with its global options and settings, no commands yet: the full
 * tree (cutover-program.ts) and the lint-only one (lint-program.ts) start from
 * it, so both parse, print help and fail alike.
 */
export function rootCommand(): Command {
  return (
    new Command('cutover')
      .description('Zero-downtime deploys: blue-green with an embedded reverse proxy')
      .option('-c, --config <file>', 'config file', 'cutover.yaml')
      .option('--url <url>', 'admin API URL (default: from the config, or CUTOVER_URL)')
      .option('--token <token>', 'admin API token (default: <state_dir>/admin-token, or CUTOVER_TOKEN)')
      .option('--json', 'machine-readable output')
      .option(
        '--timeout <duration>',
        'stop following an operation after this long (it goes on on the server) and exit 4',
      )
      .addHelpText('after', VERSION_HELP)
      .showHelpAfterError()
      // Usage errors become exit code 2 in main(), not commander's own process.exit(1); subcommands inherit this.
      .exitOverride()
  );
}

export function migrateCommand(root: Command): Command {
  return root.command('migrate').description('database migrations: lint, status, run');
}

/**
 * Whether the arguments (after `node cutover`) are `migrate lint ...`, with
 * only global options before those two words. Then the lint-only tree gives
 * the same answer as the full one: what follows `lint` is parsed by the same
 * lint command, and nothing before it can ask for the root's help or trip
 * its errors. Anything else (a typo, an unknown option first) goes to the
 * full tree, whose help lists every command.
 */
export function lintOnlyRequested(args: readonly string[]): boolean {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === 'migrate') return args[index + 1] === 'lint';
    if (VALUE_OPTIONS.has(arg)) index++;
    else if (!FLAG_OPTIONS.has(arg) && !VALUE_OPTIONS.has(arg.split('=')[0]!)) return false;
  }
  return false;
}
