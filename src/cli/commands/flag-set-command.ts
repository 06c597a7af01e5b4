import { isPendingAnswer, printPending, type PendingFlagChange } from './flag-change-answers.js';
import fs from 'node:fs';
import { CutoverError } from '../../core/errors.js';
import { DEFAULT_STICKINESS, type Flag, type Rollout, type Rule } from '../../flags/flag-model.js';
import type { AdminClient } from '../admin-client.js';
import { green, printJson } from '../output.js';
import type { FlagDetail, FlagEntry } from './flag-api-answers.js';
import { parsePercentage, parseRuleShorthand } from './flag-rule-shorthand.js';
import { summarizeChange } from './flags-format.js';
import { currentActor } from './operation-commands.js';
import { flagPath, flagsPath } from './flag-paths.js';

/**
 * `cutover flags set <key>`: create the flag when it is missing (a boolean
 * flag, on/off, enabled), otherwise read it, change what the options say and
 * write it back with `ifVersion`, so a change made by someone else in between
 * is refused (FLAG_CONFLICT) rather than overwritten. Every option is checked
 * before the first request: a bad one changes nothing.
 */
export interface FlagSetOptions {
  percent?: string;
  variant?: string;
  rule?: string[];
  clearRules?: boolean;
  description?: string;
  /** `--client-visible true|false`: may client-side tokens evaluate it over OFREP? */
  clientVisible?: string;
  stickiness?: string;
  file?: string;
  reason?: string;
  env?: string;
}

interface Changes {
  percentage: number | undefined;
  rules: Rule[] | undefined;
  file: Record<string, unknown> | undefined;
}

export async function runFlagSet(
  client: AdminClient,
  key: string,
  options: FlagSetOptions,
  json: boolean,
): Promise<number> {
  const changes = checkOptions(key, options);
  const existing = await readFlag(client, key, options.env);
  if (existing !== null && !changesSomething(options)) {
    throw new CutoverError('BAD_REQUEST', `nothing to change on flag ${key}`, {
      hint: 'Give --percent, --variant, --stickiness, --rule, --clear-rules, --description, --client-visible or --file (`cutover flags set --help`).',
    });
  }
  const base = (changes.file as Flag | undefined) ?? existing?.flag ?? newBooleanFlag(key);
  const flag = applyChanges(structuredClone(base), options, changes, existing?.flag.rollout ?? null);
  const meta = { actor: currentActor(), ...(options.reason === undefined ? {} : { reason: options.reason }) };
  let answer: FlagEntry | { pending: PendingFlagChange };
  try {
    answer =
      existing === null
        ? await client.request<FlagEntry>('POST', flagsPath('', options.env), { flag, ...meta })
        : await client.request<FlagEntry>('PUT', flagPath(key, '', options.env), {
            flag,
            ifVersion: existing.version,
            ...meta,
          });
  } catch (error) {
    throw concurrentChange(error, key, existing);
  }
  // An environment with flags.require_approval stores the change for a second person instead.
  if (isPendingAnswer(answer)) {
    printPending(answer.pending, json);
    return 0;
  }
  const entry = answer;
  if (json) {
    printJson(entry);
  } else {
    const summary = summarizeChange({
      action: existing === null ? 'create' : 'update',
      before: existing?.flag ?? null,
      after: entry.flag,
    });
    process.stdout.write(
      `${green(existing === null ? 'created' : 'updated')} ${key} (${entry.environment}, version ${entry.version}): ${summary}\n`,
    );
  }
  return 0;
}

function checkOptions(key: string, options: FlagSetOptions): Changes {
  if (options.clientVisible !== undefined && options.clientVisible !== 'true' && options.clientVisible !== 'false') {
    throw new CutoverError(
      'BAD_REQUEST',
      `--client-visible: expected true or false, got ${JSON.stringify(options.clientVisible)}`,
    );
  }
  let percentage: number | undefined;
  if (options.percent !== undefined) {
    const parsed = parsePercentage(options.percent);
    if (parsed === null) {
      throw new CutoverError(
        'BAD_REQUEST',
        `--percent: expected a percentage from 0 to 100 in steps of 0.01, got ${JSON.stringify(options.percent)}`,
        {
          hint: 'For example --percent 10 or --percent 2.5; nothing was changed.',
        },
      );
    }
    percentage = parsed;
  }
  if (options.rule !== undefined && options.clearRules) {
    throw new CutoverError('BAD_REQUEST', 'give either --rule or --clear-rules, not both');
  }
  const rules = options.clearRules
    ? []
    : options.rule?.map((text, index) => {
        const parsed = parseRuleShorthand(text);
        if (!parsed.ok) {
          throw new CutoverError(
            'BAD_REQUEST',
            `--rule ${options.rule && options.rule.length > 1 ? `#${index + 1} ` : ''}${JSON.stringify(text)}: ${parsed.problem}`,
            {
              hint: 'See `cutover flags set --help` for the rule shorthand, e.g. --rule "country in SE,NO -> on"; nothing was changed.',
            },
          );
        }
        return parsed.rule;
      });
  return { percentage, rules, file: options.file === undefined ? undefined : readFlagFile(options.file, key) };
}

function readFlagFile(file: string, key: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CutoverError(
      'BAD_REQUEST',
      `--file: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CutoverError('BAD_REQUEST', `--file: ${file} is not valid JSON (${(error as Error).message})`, {
      hint: 'The file holds one flag as JSON, as in docs/flags.md.',
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CutoverError('BAD_REQUEST', `--file: ${file} must hold a flag (a JSON object)`, {
      hint: 'The file holds one flag as JSON, as in docs/flags.md.',
    });
  }
  const flag = value as Record<string, unknown>;
  if (flag.key !== undefined && flag.key !== key) {
    throw new CutoverError(
      'BAD_REQUEST',
      `--file: ${file} holds the flag ${JSON.stringify(flag.key)}, not ${JSON.stringify(key)}`,
      { hint: 'Give the key the file holds, or remove `key` from the file.' },
    );
  }
  return { ...flag, key };
}

function changesSomething(options: FlagSetOptions): boolean {
  return (
    [
      options.percent,
      options.variant,
      options.rule,
      options.description,
      options.clientVisible,
      options.stickiness,
      options.file,
    ].some((value) => value !== undefined) || Boolean(options.clearRules)
  );
}

/** What `set` creates when the flag is missing: a boolean flag that is off until a rollout or rule says on. */
export function newBooleanFlag(key: string): Flag {
  return {
    key,
    description: '',
    enabled: true,
    variants: { on: true, off: false },
    defaultVariant: 'off',
    offVariant: 'off',
    rules: [],
    rollout: null,
  };
}

function applyChanges(flag: Flag, options: FlagSetOptions, changes: Changes, previousRollout: Rollout | null): Flag {
  if (options.description !== undefined) flag.description = options.description;
  if (options.clientVisible !== undefined) flag.clientVisible = options.clientVisible === 'true';
  if (changes.rules !== undefined) flag.rules = changes.rules;
  // From --file the file's rollout is the one being changed; otherwise the stored one.
  const current = changes.file === undefined ? previousRollout : flag.rollout;
  if (changes.percentage !== undefined) {
    flag.rollout = withVariant(
      { percentage: changes.percentage, stickiness: options.stickiness ?? current?.stickiness ?? DEFAULT_STICKINESS },
      options.variant,
      current,
    );
  } else if (options.variant !== undefined || options.stickiness !== undefined) {
    if (current === null) {
      throw new CutoverError('BAD_REQUEST', `flag ${flag.key} has no rollout for --variant or --stickiness to change`, {
        hint: `Give --percent too, e.g. cutover flags set ${flag.key} --percent 10${options.variant ? ` --variant ${options.variant}` : ''}; nothing was changed.`,
      });
    }
    flag.rollout = withVariant(
      { percentage: current.percentage, stickiness: options.stickiness ?? current.stickiness },
      options.variant,
      current,
    );
  }
  return flag;
}

/** The rollout's variant: --variant, else the current rollout's (or its weighted split), else `on`. */
function withVariant(
  base: { percentage: number; stickiness: string },
  variant: string | undefined,
  current: Rollout | null,
): Rollout {
  if (variant !== undefined) return { ...base, variant };
  if (current?.variants !== undefined) return { ...base, variants: current.variants };
  return { ...base, variant: current?.variant ?? 'on' };
}

export async function readFlag(client: AdminClient, key: string, env: string | undefined): Promise<FlagDetail | null> {
  try {
    return await client.request<FlagDetail>('GET', flagPath(key, '', env));
  } catch (error) {
    if (error instanceof CutoverError && error.code === 'FLAG_NOT_FOUND') return null;
    throw error;
  }
}

function concurrentChange(error: unknown, key: string, existing: FlagEntry | null): unknown {
  if (!(error instanceof CutoverError)) return error;
  if (error.code === 'FLAG_CONFLICT') {
    return new CutoverError(
      'FLAG_CONFLICT',
      `flag ${key} changed after it was read (version ${existing?.version ?? '?'}): this change was not applied`,
      {
        hint: `Run \`cutover flags get ${key}\` to see the change, then run this command again.`,
      },
    );
  }
  if (error.code === 'FLAG_EXISTS') {
    return new CutoverError(
      'FLAG_CONFLICT',
      `flag ${key} was created by someone else while this command ran: this change was not applied`,
      {
        hint: `Run \`cutover flags get ${key}\` to see it, then run this command again.`,
      },
    );
  }
  return error;
}
