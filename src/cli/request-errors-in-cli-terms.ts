import type { Command } from 'commander';
import { CutoverError, ERROR_CATALOGUE } from '../core/errors.js';

/**
 * The admin API refuses a bad value in the words of its request body ("invalid request body: retryAfter:
 * expected a duration", "slot: Invalid option", hint "Check the request body against the API reference"),
 * right for a script that calls it, but a person typed `--retry-after soon` or `cutover switch web purple`
 * and wrote no request body. Said back in the command's own terms: the option or argument that carried the
 * field, and the command's --help. Anything else passes unchanged.
 */
export function inCliTerms(error: unknown, program: Command, args: readonly string[]): unknown {
  if (!(error instanceof CutoverError) || error.code !== 'BAD_REQUEST') return error;
  const command = commandOf(program, args);
  if (command === program) return error;
  const generic = error.hint === ERROR_CATALOGUE.BAD_REQUEST.hint;
  const issues = bodyIssues(error);
  if (!generic && issues === null) return error;
  const message =
    issues === null
      ? error.message
      : issues.map((issue) => `${cliName(command, issue.path[0])}: ${issue.message}`).join('; ');
  return new CutoverError('BAD_REQUEST', message, {
    hint: generic
      ? `Run \`cutover ${commandPath(command)} --help\` for what each option takes; nothing was changed.`
      : error.hint,
  });
}

interface BodyIssue {
  path: (string | number)[];
  message: string;
}

/** The schema's issues of an "invalid request body" answer (its details), or null for any other refusal. */
function bodyIssues(error: CutoverError): BodyIssue[] | null {
  if (!error.message.startsWith('invalid request body: ') || !Array.isArray(error.details)) return null;
  const issues = error.details as unknown[];
  const valid = issues.every(
    (issue) =>
      typeof issue === 'object' &&
      issue !== null &&
      Array.isArray((issue as BodyIssue).path) &&
      typeof (issue as BodyIssue).message === 'string',
  );
  return valid && issues.length > 0 ? (issues as BodyIssue[]) : null;
}

/** `retryAfter` → `--retry-after` when the command has that option, `slot` → `<slot>` for an argument. */
function cliName(command: Command, field: string | number | undefined): string {
  if (typeof field !== 'string') return 'the request';
  if (command.registeredArguments.some((argument) => argument.name() === field)) return `<${field}>`;
  const flag = `--${field.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
  return command.options.some((option) => option.long === flag) ? flag : field;
}

/** The deepest subcommand the words of the command line name (`maintenance on web ...` → `maintenance on`). */
function commandOf(program: Command, args: readonly string[]): Command {
  let command = program;
  for (const word of args) {
    if (word.startsWith('-')) continue;
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) command = sub;
    // Before the command: a global option's value (`--config ./cutover.yaml deploy ...`); after it: its arguments.
    else if (command !== program) break;
  }
  return command;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
