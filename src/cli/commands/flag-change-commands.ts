import type { Command } from 'commander';
import { parseAge } from '../../config/duration.js';
import { CutoverError } from '../../core/errors.js';
import { isRolloutPercentage } from '../../flags/flag-model.js';
import type { ScheduledAction } from '../../flags/scheduled-action.js';
import type { AdminClient } from '../admin-client.js';
import { dim, formatTime, green, printJson, red } from '../output.js';
import {
  isPendingAnswer,
  printPending,
  type FlagSchedule,
  type PendingFlagChange,
  type StaleFlagAnswer,
} from './flag-change-answers.js';
import { flagPath, withEnvironment } from './flag-paths.js';
import { renderTable } from './flags-format.js';
import { currentActor } from './operation-commands.js';

/**
 * `cutover flags stale | schedule | schedules | unschedule | pending |
 * approve | reject`: flag hygiene and change control (docs/flags.md,
 * "Flag hygiene"). The actor is the person running the command, as for
 * deploys (`currentActor`).
 */
interface Context {
  client: () => Promise<AdminClient>;
  json: () => boolean;
}

interface ScheduleOptions {
  at?: string;
  percent?: string;
  enable?: boolean;
  disable?: boolean;
  variant?: string;
  env?: string;
}

export function registerFlagChangeCommands(flags: Command, context: Context, exit: (code: number) => void): void {
  flags
    .command('stale')
    .description('flags that served one value to everyone, or were not evaluated, for flags.stale_after')
    .option('--env <environment>', "flag environment (default: the server's first)")
    .action(async (o: { env?: string }) => {
      const answer = await (
        await context.client()
      ).request<StaleFlagAnswer>('GET', withEnvironment('/api/v1/stale-flags', o.env));
      if (context.json()) printJson(answer);
      else if (answer.flags.length === 0)
        process.stdout.write(`no stale flags in ${answer.environment} (stale after ${days(answer.staleAfterMs)})\n`);
      else {
        const rows = answer.flags.flatMap((flag) =>
          flag.stale.map((entry) => [flag.key, entry.reason, formatTime(entry.since), entry.detail]),
        );
        process.stdout.write(
          `${dim(`environment ${answer.environment}, stale after ${days(answer.staleAfterMs)}`)}\n` +
            renderTable(['KEY', 'REASON', 'SINCE', 'DETAIL'], rows),
        );
      }
      exit(0);
    });

  flags
    .command('schedule <key>')
    .description('change a flag at a given time: --percent N, --enable, --disable or --variant V')
    .requiredOption('--at <time>', 'when: 2026-03-01T09:00:00Z (with its offset), or from now: +2h, +30m, +3d')
    .option('--percent <n>', "the rollout's percentage (with --variant: of that variant)")
    .option('--enable', 'turn the kill switch off')
    .option('--disable', 'turn the kill switch on: everyone gets the off variant')
    .option('--variant <variant>', 'alone: the default variant; with --percent: the variant rolled out')
    .option('--env <environment>', "flag environment (default: the server's first)")
    .action(async (key: string, o: ScheduleOptions) => {
      const body = { at: parseAt(o.at ?? ''), action: scheduledAction(o), actor: currentActor() };
      const answer = await (
        await context.client()
      ).request<{ schedule: FlagSchedule } | { pending: PendingFlagChange }>(
        'POST',
        flagPath(key, '/schedules', o.env),
        body,
      );
      if (isPendingAnswer(answer)) printPending(answer.pending, context.json());
      else if (context.json()) printJson(answer);
      else
        process.stdout.write(
          `${green('scheduled')} ${answer.schedule.id}: ${describe(answer.schedule)}\n` +
            `${dim(`cancel it with: cutover flags unschedule ${answer.schedule.id}`)}\n`,
        );
      exit(0);
    });

  flags
    .command('schedules')
    .description('scheduled flag changes still to come (with --all: also applied, failed and cancelled)')
    .option('--env <environment>', 'only this environment (default: all)')
    .option('--all', 'also the ones that have ended')
    .action(async (o: { env?: string; all?: boolean }) => {
      const path = withEnvironment(`/api/v1/flag-schedules${o.all ? '?all=true' : ''}`, o.env);
      const answer = await (await context.client()).request<{ schedules: FlagSchedule[] }>('GET', path);
      if (context.json()) printJson(answer);
      else if (answer.schedules.length === 0) process.stdout.write('no scheduled flag changes\n');
      else
        process.stdout.write(
          renderTable(
            ['ID', 'DUE', 'ENV', 'FLAG', 'CHANGE', 'STATE', 'SCHEDULED BY'],
            answer.schedules.map((s) => [
              s.id,
              formatTime(s.at),
              s.environment,
              s.key,
              actionText(s.action),
              s.state + (s.error ? `: ${s.error}` : ''),
              s.scheduledBy + (s.approvedBy ? ` (approved by ${s.approvedBy})` : ''),
            ]),
          ),
        );
      exit(0);
    });

  flags
    .command('unschedule <id>')
    .description('cancel a scheduled flag change')
    .action(async (id: string) => {
      const answer = await (
        await context.client()
      ).request<{ schedule: FlagSchedule }>('DELETE', `/api/v1/flag-schedules/${encodeURIComponent(id)}`, {
        actor: currentActor(),
      });
      if (context.json()) printJson(answer);
      else process.stdout.write(`${red('cancelled')} ${id}: ${describe(answer.schedule)}\n`);
      exit(0);
    });

  flags
    .command('pending')
    .description('flag changes waiting for an approval (flags.require_approval); with --all: decided ones too')
    .option('--env <environment>', 'only this environment (default: all)')
    .option('--all', 'also the approved, rejected and failed ones')
    .action(async (o: { env?: string; all?: boolean }) => {
      const path = withEnvironment(`/api/v1/flag-changes${o.all ? '?all=true' : ''}`, o.env);
      const answer = await (await context.client()).request<{ changes: PendingFlagChange[] }>('GET', path);
      if (context.json()) printJson(answer);
      else if (answer.changes.length === 0) process.stdout.write('no flag changes waiting for an approval\n');
      else
        process.stdout.write(
          renderTable(
            ['ID', 'PROPOSED', 'BY', 'ENV', 'FLAG', 'CHANGE', 'STATE'],
            answer.changes.map((c) => [
              c.id,
              formatTime(c.at),
              c.proposedBy,
              c.environment,
              c.key,
              c.operation.type + (c.reason ? ` (${c.reason})` : ''),
              c.state + (c.decidedBy ? ` by ${c.decidedBy}` : ''),
            ]),
          ),
        );
      exit(0);
    });

  for (const decision of ['approve', 'reject'] as const) {
    const command = flags
      .command(`${decision} <change-id>`)
      .description(
        decision === 'approve'
          ? 'apply a pending flag change proposed by someone else (recorded with who approved)'
          : 'refuse a pending flag change (its proposer may withdraw it so)',
      );
    if (decision === 'reject') command.option('--reason <text>', 'why, for the record');
    command.action(async (id: string, o: { reason?: string }) => {
      const answer = await (
        await context.client()
      ).request<{ change: PendingFlagChange }>('POST', `/api/v1/flag-changes/${encodeURIComponent(id)}/${decision}`, {
        actor: currentActor(),
        ...(o.reason === undefined ? {} : { reason: o.reason }),
      });
      const { change } = answer;
      if (context.json()) printJson(answer);
      else if (decision === 'approve')
        process.stdout.write(
          `${green('approved')} ${id} (${change.operation.type} of ${change.key} in ${change.environment}, proposed by ${change.proposedBy})` +
            `${change.result?.version !== undefined ? `: version ${change.result.version}` : ''}` +
            `${change.result?.scheduleId !== undefined ? `: scheduled as ${change.result.scheduleId}` : ''}` +
            `${change.result?.rolloutId !== undefined ? `: rollout ${change.result.rolloutId} started` : ''}\n`,
        );
      else process.stdout.write(`${red('rejected')} ${id} (${change.operation.type} of ${change.key})\n`);
      exit(0);
    });
  }
}

/** An absolute time with its offset, or `+<duration>` from now (`+2h`, `+3d`). */
export function parseAt(value: string, now = Date.now()): number {
  const text = value.trim();
  if (text.startsWith('+')) {
    const age = parseAge(text.slice(1));
    if (age.ok) return now + age.ms;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    return Date.parse(text);
  }
  throw new CutoverError(
    'BAD_REQUEST',
    `--at: expected a time like 2026-03-01T09:00:00Z (with its offset) or +2h, +3d, got ${JSON.stringify(value)}`,
  );
}

/** Exactly one change: --percent (maybe with --variant), --enable, --disable, or --variant alone. */
export function scheduledAction(o: ScheduleOptions): ScheduledAction {
  const chosen = [o.percent !== undefined, o.enable === true, o.disable === true].filter(Boolean).length;
  if (chosen > 1 || (chosen === 0 && o.variant === undefined) || (o.variant !== undefined && (o.enable || o.disable)))
    throw new CutoverError(
      'BAD_REQUEST',
      'expected exactly one change: --percent N (with --variant V), --enable, --disable or --variant V',
    );
  if (o.percent !== undefined) {
    const percentage = Number(o.percent);
    if (o.percent.trim() === '' || !isRolloutPercentage(percentage))
      throw new CutoverError(
        'BAD_REQUEST',
        `--percent: expected 0 to 100 in steps of 0.01, got ${JSON.stringify(o.percent)}`,
      );
    return { type: 'percent', percentage, ...(o.variant === undefined ? {} : { variant: o.variant }) };
  }
  if (o.enable) return { type: 'enable' };
  if (o.disable) return { type: 'disable' };
  return { type: 'variant', variant: o.variant! };
}

function actionText(action: ScheduledAction): string {
  switch (action.type) {
    case 'percent':
      return `${action.percentage}%${action.variant === undefined ? '' : ` ${action.variant}`}`;
    case 'variant':
      return `default ${action.variant}`;
    default:
      return action.type;
  }
}

function describe(schedule: FlagSchedule): string {
  return `${actionText(schedule.action)} for ${schedule.key} in ${schedule.environment} at ${formatTime(schedule.at)} UTC`;
}

function days(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : `${Math.round(ms / 3_600_000)}h`;
}
