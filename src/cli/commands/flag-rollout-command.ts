import { isPendingAnswer, printPending, type PendingFlagChange } from './flag-change-answers.js';
import { formatDuration as formatConfigDuration, parseDuration } from '../../config/duration.js';
import { CutoverError } from '../../core/errors.js';
import type { AdminClient } from '../admin-client.js';
import { followFlagRollout } from '../follow-flag-rollout.js';
import { dim, green, printJson, red } from '../output.js';
import type { Flag } from '../../flags/flag-model.js';
import type { FlagRollout } from './flag-api-answers.js';
import { flagPath } from './flag-paths.js';
import { formatRollout, parsePercentage } from './flag-rule-shorthand.js';
import { formatSteps } from './flags-format.js';
import { currentActor } from './operation-commands.js';
import { readFlag } from './flag-set-command.js';
import { EXIT } from '../exit-codes.js';

/**
 * `cutover flags rollout <key> --steps 10,50,100 --pause 5m`: the server
 * raises the flag's rollout step by step, running the analysis templates in
 * each pause, and puts the flag back where it was when one fails. The CLI
 * starts it and follows it like a deploy: exit 0 only when it succeeded.
 */
export interface FlagRolloutOptions {
  steps?: string;
  pause?: string;
  analysis?: string;
  service?: string;
  variant?: string;
  detach?: boolean;
  abort?: string;
  env?: string;
}

export async function runFlagRollout(
  client: AdminClient,
  key: string | undefined,
  options: FlagRolloutOptions,
  json: boolean,
): Promise<number> {
  if (options.abort !== undefined) return abortRollout(client, options.abort, json);
  if (key === undefined)
    throw new CutoverError(
      'BAD_REQUEST',
      'name the flag to roll out, e.g. cutover flags rollout new-checkout --steps 10,50,100 --pause 5m',
    );
  if (options.steps === undefined)
    throw new CutoverError('BAD_REQUEST', '--steps is required: the percentages to go through, e.g. --steps 10,50,100');
  if (options.pause === undefined)
    throw new CutoverError(
      'BAD_REQUEST',
      '--pause is required: how long each step runs (and is analysed), e.g. --pause 5m',
    );
  const steps = parseSteps(options.steps);
  const pauseMs = parsePause(options.pause);
  const analysis = parseAnalysis(options.analysis);
  const body = {
    steps,
    // Sent with its unit: a bare number means milliseconds to the API but seconds in cutover.yaml.
    pause: formatConfigDuration(pauseMs),
    ...(analysis.length === 0 ? {} : { analysis }),
    ...(options.service === undefined ? {} : { service: options.service }),
    ...(options.variant === undefined ? {} : { variant: options.variant }),
    actor: currentActor(),
  };
  const started = await client.request<{ rollout: FlagRollout } | { pending: PendingFlagChange }>(
    'POST',
    flagPath(key, '/rollouts', options.env),
    body,
  );
  // An environment with flags.require_approval starts the rollout only once a second person approves it.
  if (isPendingAnswer(started)) {
    printPending(started.pending, json);
    return 0;
  }
  const { rollout } = started;
  if (options.detach) {
    if (json) printJson({ rollout });
    else
      process.stdout.write(
        `rollout ${rollout.id} of ${key} started: steps ${formatSteps(rollout.steps)}, pause ${formatConfigDuration(rollout.pauseMs)}\n` +
          `${dim('abort it with:')} cutover flags rollout --abort ${rollout.id}\n`,
      );
    return 0;
  }
  if (!json) {
    process.stdout.write(
      `rollout ${rollout.id} of ${key}: steps ${formatSteps(rollout.steps)}, pause ${formatConfigDuration(rollout.pauseMs)}` +
        `${rollout.analysis.length ? `, analysis ${rollout.analysis.join(', ')}` : ''}\n` +
        `${dim(`(Ctrl-C stops following, not the rollout; abort it with: cutover flags rollout --abort ${rollout.id})`)}\n`,
    );
  }
  const result = await followFlagRollout(client, rollout, { quiet: json });
  const done = result.rollout;
  if (json) printJson(result);
  else if (done.phase === 'succeeded')
    process.stdout.write(`${green('done')}: rollout ${done.id} succeeded; ${key} is at ${done.steps.at(-1) ?? '?'}%\n`);
  else await reportUnsuccessful(client, done);
  // Failed (judged by analysis) or aborted, the rollout put the flag back: "aborted or rolled back".
  return done.phase === 'succeeded' ? EXIT.OK : EXIT.ABORTED;
}

async function reportUnsuccessful(client: AdminClient, rollout: FlagRollout): Promise<void> {
  process.stderr.write(
    `${red(rollout.phase)}: rollout ${rollout.id} of ${rollout.flag}: ${rollout.reason ?? 'see the events above'}\n`,
  );
  if (rollout.phase === 'failed') {
    // Say where the flag is as read now, not as the rollout meant to leave it: the revert itself can fail.
    const now = await readFlag(client, rollout.flag, rollout.environment);
    const describe = (flag: Flag | null): string =>
      flag === null ? 'deleted' : flag.rollout === null ? 'no rollout' : `rollout ${formatRollout(flag.rollout)}`;
    const back = now !== null && JSON.stringify(now.flag.rollout) === JSON.stringify(rollout.previous.rollout);
    process.stderr.write(
      `${dim('hint:')} ${rollout.flag} ${back ? 'is back at' : 'is NOT back where it was: it is at'} ${describe(now?.flag ?? null)}` +
        `${back ? ', as before the rollout' : ` (before the rollout: ${describe(rollout.previous)})`}; \`cutover flags history ${rollout.flag}\` shows each change\n`,
    );
  } else {
    process.stderr.write(`${dim('hint:')} \`cutover flags get ${rollout.flag}\` shows where the flag is now\n`);
  }
}

async function abortRollout(client: AdminClient, id: string, json: boolean): Promise<number> {
  const { rollout } = await client.request<{ rollout: FlagRollout }>(
    'POST',
    `/api/v1/flag-rollouts/${encodeURIComponent(id)}/abort`,
    { actor: currentActor() },
  );
  if (json) printJson({ rollout });
  else
    process.stdout.write(
      `rollout ${rollout.id} of ${rollout.flag}: ${rollout.phase}${rollout.reason ? ` (${rollout.reason})` : ''}\n`,
    );
  return 0;
}

/** `10,50,100`: increasing percentages in (0, 100]. */
export function parseSteps(text: string): number[] {
  const bad = (why: string): never => {
    throw new CutoverError('BAD_REQUEST', `--steps ${JSON.stringify(text)}: ${why}`, {
      hint: 'Give increasing percentages above 0 and at most 100, separated by commas, e.g. --steps 10,50,100.',
    });
  };
  const parts = text.split(',').map((part) => part.trim().replace(/%$/, ''));
  if (parts.length === 0 || parts.every((part) => part === '')) bad('expected at least one percentage');
  const steps = parts.map((part) => {
    const value = part === '' ? null : parsePercentage(part);
    if (value === null) return bad(`${JSON.stringify(part)} is not a percentage from 0 to 100 (steps of 0.01)`);
    if (value === 0) return bad('a step must be above 0%');
    return value;
  });
  steps.forEach((step, index) => {
    const previous = steps[index - 1];
    if (previous !== undefined && step <= previous) bad(`the steps must increase, but ${step} follows ${previous}`);
  });
  return steps;
}

export function parsePause(text: string): number {
  const parsed = parseDuration(text, { allowZero: false });
  if (!parsed.ok) {
    throw new CutoverError('BAD_REQUEST', `--pause ${JSON.stringify(text)}: ${parsed.expected}`, {
      hint: 'For example --pause 30s, --pause 5m or --pause 500ms.',
    });
  }
  return parsed.ms;
}

function parseAnalysis(text: string | undefined): string[] {
  if (text === undefined) return [];
  const names = text.split(',').map((name) => name.trim());
  if (names.some((name) => name === ''))
    throw new CutoverError(
      'BAD_REQUEST',
      `--analysis ${JSON.stringify(text)}: expected template names separated by commas, e.g. --analysis errors,latency`,
    );
  return names;
}
