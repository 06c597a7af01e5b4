import type { Command } from 'commander';
import { registerMigrateLintCommand } from './commands/migrate-lint-command.js';
import { migrateCommand, rootCommand } from './root-command.js';

/**
 * `cutover migrate lint` alone: the root with its global options, `migrate`
 * and its `lint`, and none of the other commands (the admin client, the flag
 * commands and the rest cost a lint about a sixth of its start-up; see
 * bench/README.md). main() takes it only when lintOnlyRequested says the
 * full tree would run the same command the same way.
 */
export function lintProgram(): Command {
  const cli = rootCommand();
  registerMigrateLintCommand(migrateCommand(cli));
  return cli;
}
