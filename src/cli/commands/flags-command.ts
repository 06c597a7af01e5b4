import readline from 'node:readline/promises';
import type { Command } from 'commander';
import { CutoverError } from '../../core/errors.js';
import type { AdminClient } from '../admin-client.js';
import { green, printJson, red } from '../output.js';
import type { AuditEntry, FlagDetail, FlagEntry, FlagList } from './flag-api-answers.js';
import { flagPath, flagsPath } from './flag-paths.js';
import { runFlagRollout, type FlagRolloutOptions } from './flag-rollout-command.js';
import { RULE_SHORTHAND_HELP } from './flag-rule-shorthand.js';
import { runFlagSet, type FlagSetOptions } from './flag-set-command.js';
import { registerFlagTokensCommand } from './flag-tokens-command.js';
import { registerFlagChangeCommands } from './flag-change-commands.js';
import { isPendingAnswer, printPending, type PendingFlagChange } from './flag-change-answers.js';
import { renderFlagDetail, renderFlagList, renderHistory } from './flags-format.js';
import { currentActor } from './operation-commands.js';
import { EXIT } from '../exit-codes.js';

/**
 * `cutover flags ...`: feature flags through the admin API (docs/flags.md).
 * Every subcommand takes --env (the server's first environment otherwise)
 * and the global --json, --config, --url and --token.
 */
export interface FlagsCommandContext {
  client: () => Promise<AdminClient>;
  json: () => boolean;
}

interface EnvOption {
  env?: string;
}
interface ChangeOptions extends EnvOption {
  reason?: string;
}

export function registerFlagsCommand(cli: Command, context: FlagsCommandContext): void {
  const flags = cli
    .command('flags')
    .description('feature flags: list, inspect, change, kill-switch, roll out, schedule, approve');
  const exit = (code: number): void => {
    process.exitCode = code;
  };
  const withEnv = (command: Command): Command =>
    command.option('--env <environment>', "flag environment (default: the server's first)");

  withEnv(flags.command('list').description('every flag: enabled, rollout, variants, version, last change')).action(
    async (o: EnvOption) => exit(await runList(await context.client(), o, context.json())),
  );

  withEnv(
    flags
      .command('get <key>')
      .description('one flag in full, with the evaluations SDKs reported and the rollout in progress'),
  ).action(async (key: string, o: EnvOption) => exit(await runGet(await context.client(), key, o, context.json())));

  withEnv(
    flags
      .command('set <key>')
      .description('create a flag (boolean on/off, enabled) or change it')
      .option('--percent <n>', 'top-level rollout: this percentage of users (0-100, sticky) get --variant')
      .option('--variant <variant>', 'the rollout\'s variant (default: the current rollout\'s, else "on")')
      .option('--stickiness <attribute>', 'the context attribute that keeps a user in or out (default: userId)')
      .option(
        '--rule <rule>',
        'a targeting rule, JSON or shorthand (below); repeat for several: they replace the rules, in order',
        collect,
      )
      .option('--clear-rules', 'remove every rule')
      .option('--description <text>', 'what the flag is for')
      .option('--client-visible <true|false>', 'may client-side tokens (browsers, apps) evaluate it over OFREP')
      .option('--file <flag.json>', 'the whole flag as JSON (the options above then apply on top)')
      .option('--reason <text>', "why, for the flag's history")
      .addHelpText('after', `\n${RULE_SHORTHAND_HELP}\n`),
  ).action(async (key: string, o: FlagSetOptions) =>
    exit(await runFlagSet(await context.client(), key, o, context.json())),
  );

  for (const enabled of [true, false]) {
    withEnv(
      flags
        .command(`${enabled ? 'enable' : 'disable'} <key>`)
        .description(
          enabled
            ? 'turn the kill switch off: the flag is evaluated again'
            : 'the kill switch: every evaluation answers the off variant at once',
        )
        .option('--reason <text>', "why, for the flag's history"),
    ).action(async (key: string, o: ChangeOptions) =>
      exit(await runEnable(await context.client(), key, enabled, o, context.json())),
    );
  }

  withEnv(
    flags
      .command('delete <key>')
      .description('delete a flag (SDKs then answer their defaults)')
      .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
      .option('--reason <text>', "why, for the flag's history"),
  ).action(async (key: string, o: ChangeOptions & { yes?: boolean }) =>
    exit(await runDelete(await context.client(), key, o, context.json())),
  );

  withEnv(
    flags
      .command('history <key>')
      .description('who changed the flag, when, and what changed (newest first)')
      .option('-n, --limit <n>', 'entries to show', '20'),
  ).action(async (key: string, o: EnvOption & { limit: string }) =>
    exit(await runHistory(await context.client(), key, o, context.json())),
  );

  withEnv(
    flags
      .command('rollout [key]')
      .description("raise a flag's rollout step by step with analysis; rolls back on a failure")
      .option('--steps <percentages>', 'increasing percentages, e.g. 10,50,100')
      .option('--pause <duration>', 'how long each step runs and is analysed, e.g. 30s, 5m, 500ms')
      .option('--analysis <names>', 'analysis templates from cutover.yaml, comma-separated')
      .option('--service <service>', 'the service whose proxy metrics the builtin metrics read')
      .option('--variant <variant>', 'the variant rolled out (default: the rollout\'s, else "on")')
      .option('--detach', 'start it and return with its id instead of following it')
      .option('--abort <id>', 'abort a running rollout: the flag is set back to what it was before it'),
  ).action(async (key: string | undefined, o: FlagRolloutOptions) =>
    exit(await runFlagRollout(await context.client(), key, o, context.json())),
  );

  registerFlagTokensCommand(flags, context, exit);
  registerFlagChangeCommands(flags, context, exit);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function runList(client: AdminClient, options: EnvOption, json: boolean): Promise<number> {
  const list = await client.request<FlagList>('GET', flagsPath('', options.env));
  if (json) printJson(list);
  else process.stdout.write(renderFlagList(list.environment, list.flags));
  return 0;
}

async function runGet(client: AdminClient, key: string, options: EnvOption, json: boolean): Promise<number> {
  const detail = await client.request<FlagDetail>('GET', flagPath(key, '', options.env));
  if (json) printJson(detail);
  else process.stdout.write(renderFlagDetail(detail));
  return 0;
}

async function runEnable(
  client: AdminClient,
  key: string,
  enabled: boolean,
  options: ChangeOptions,
  json: boolean,
): Promise<number> {
  const answer = await client.request<FlagEntry | { pending: PendingFlagChange }>(
    'PATCH',
    flagPath(key, '', options.env),
    {
      patch: { enabled },
      actor: currentActor(),
      ...(options.reason === undefined ? {} : { reason: options.reason }),
    },
  );
  if (isPendingAnswer(answer)) {
    printPending(answer.pending, json);
    return 0;
  }
  const entry = answer;
  if (json) printJson(entry);
  else if (enabled)
    process.stdout.write(`${green('enabled')} ${key} (${entry.environment}, version ${entry.version})\n`);
  else
    process.stdout.write(
      `${red('disabled')} ${key} (${entry.environment}, version ${entry.version}): every evaluation answers "${entry.flag.offVariant}"\n`,
    );
  return 0;
}

async function runDelete(
  client: AdminClient,
  key: string,
  options: ChangeOptions & { yes?: boolean },
  json: boolean,
): Promise<number> {
  if (!options.yes) {
    if (!process.stdin.isTTY) {
      throw new CutoverError(
        'BAD_REQUEST',
        `refusing to delete flag ${key} without --yes: there is no terminal to confirm on`,
        {
          hint: `Run \`cutover flags delete ${key} --yes\` to delete it from a script; nothing was deleted.`,
        },
      );
    }
    if (
      !(await confirm(
        `Delete flag ${key}${options.env ? ` from ${options.env}` : ''}? SDKs will answer their defaults for it. [y/N] `,
      ))
    ) {
      process.stderr.write('not deleted\n');
      return EXIT.ABORTED;
    }
  }
  const answer = await client.request<{ deleted: string; version: number } | { pending: PendingFlagChange }>(
    'DELETE',
    flagPath(key, '', options.env),
    { actor: currentActor(), ...(options.reason === undefined ? {} : { reason: options.reason }) },
  );
  if (isPendingAnswer(answer)) printPending(answer.pending, json);
  else if (json) printJson(answer);
  else process.stdout.write(`deleted ${answer.deleted} (version ${answer.version})\n`);
  return 0;
}

async function confirm(question: string): Promise<boolean> {
  const prompt = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

async function runHistory(
  client: AdminClient,
  key: string,
  options: EnvOption & { limit: string },
  json: boolean,
): Promise<number> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new CutoverError(
      'BAD_REQUEST',
      `--limit: expected a whole number above 0, got ${JSON.stringify(options.limit)}`,
    );
  }
  const answer = await client.request<{ entries: AuditEntry[] }>(
    'GET',
    flagPath(key, `/history?limit=${limit}`, options.env),
  );
  if (json) printJson(answer);
  else process.stdout.write(renderHistory(key, answer.entries));
  return 0;
}
