import type { CanaryState } from '../core/canary-strategy.js';
import type { EventRecord, OperationRecord } from '../store/records.js';
import { EXIT, exitCodeOfOutcome, waitingCode, type ExitCode } from './exit-codes.js';
import { dim, green, red, yellow } from './output.js';

/**
 * What the CLI says when it stops following an operation, and the exit code
 * that goes with it: one function of the operation and its events, so each
 * wording is tested without a server. A paused rollout is reported as paused
 * (why, at which step and weight), never as "ready"; a failure carries its
 * error code; an abort that did what it was asked is a success.
 */
export interface OperationReport {
  stream: 'stdout' | 'stderr';
  text: string;
  code: ExitCode;
}

/** The command that started the following: abort and finish succeed when the operation ends as they asked. */
export type FollowedCommand = 'deploy' | 'abort' | 'finish' | 'other';

export interface FollowedOperation {
  operation: OperationRecord;
  events: Pick<EventRecord, 'type' | 'message'>[];
  /** The operation stopped at a phase where it waits for a person (ready, paused). */
  waiting: boolean;
  timedOut: boolean;
}

type PausedState = Partial<CanaryState> & { strategy?: string; batchIndex?: number; batches?: number[][] };

/** Where a paused rollout stands, why, and what a person can do next. */
export function pausedReport(op: OperationRecord, events: FollowedOperation['events']): OperationReport {
  const state = (op.state ?? {}) as PausedState;
  const svc = op.service;
  const lastPause = [...events].reverse().find((e) => e.type === 'canary.paused' || e.type === 'rolling.paused');
  let where: string;
  let why: string;
  let next: string;
  if (state.strategy === 'canary' || Array.isArray(state.steps)) {
    const step = (state.stepIndex ?? 0) + 1;
    const steps = state.steps?.length ?? 0;
    where = `the canary ${op.releaseId ?? ''} holds ${state.weight ?? 0}% of traffic at step ${step}/${steps}`;
    const back = `cutover abort ${svc} (all traffic back to ${op.fromReleaseId ?? 'the stable release'})`;
    switch (state.pausedBy) {
      case 'inconclusive':
        why = `the analysis was inconclusive${lastPause ? ` (${lastPause.message})` : ''}`;
        next = `cutover promote ${svc} (go on to the next step) · ${back}`;
        break;
      case 'user':
        why = 'a person paused it (cutover pause, the dashboard or the API)';
        next = `cutover resume ${svc} · ${back}`;
        break;
      case 'approval':
        why = `step ${step} waits for an approval`;
        next = `cutover approve ${svc} · ${back}`;
        break;
      default:
        why = `step ${step} has no pause time: it waits for promote`;
        next = `cutover promote ${svc} · ${back}`;
    }
  } else {
    const batch =
      state.batchIndex !== undefined ? ` at batch ${state.batchIndex + 1}/${state.batches?.length ?? 0}` : '';
    where = `the rolling update to ${op.releaseId ?? ''}${batch}`;
    why = state.error?.message ?? lastPause?.message ?? 'paused';
    // An inconclusive batch was judged on nothing: resume accepts it; a failed one (failure_action: pause) is retried.
    next = `cutover resume ${svc} (${state.pausedBy === 'inconclusive' ? 'accepts the batch and goes on' : 'retries the batch'}) · cutover abort ${svc} (rolls back)`;
  }
  return {
    stream: 'stdout',
    text: `${yellow('paused')}: ${where}: ${why}.\n${dim('next:')} ${next}\n`,
    code: waitingCode(op),
  };
}

export function reportOf(followed: FollowedOperation, command: FollowedCommand): OperationReport {
  const { operation: op, events, waiting, timedOut } = followed;
  if (timedOut) {
    return {
      stream: 'stderr',
      text: `${yellow('timed out')}: stopped following ${op.kind} ${op.id} (${op.phase}); it goes on on the server: \`cutover status ${op.service}\`\n`,
      code: EXIT.TIMED_OUT,
    };
  }
  if (waiting && op.phase === 'paused') return pausedReport(op, events);
  if (waiting) {
    const approval = (op.state as { approval?: boolean } | null)?.approval === true;
    return {
      stream: 'stdout',
      text:
        `${yellow('ready')}: the new release is healthy and receives no traffic yet.\n` +
        `${dim('next:')} ${approval ? `cutover approve ${op.service}` : `cutover promote ${op.service}`}   (or cutover abort ${op.service})\n`,
      code: EXIT.WAITING,
    };
  }
  if (op.outcome === 'succeeded') {
    return { stream: 'stdout', text: `${green('done')}: ${op.kind} ${op.id} succeeded\n`, code: EXIT.OK };
  }
  const last = [...events].reverse().find((e) => /\.(aborted|failed)$/.test(e.type));
  if (command === 'abort' && op.error?.code === 'DEPLOY_ABORTED') {
    const what = op.phase === 'rolled-back' ? 'rolled back' : 'aborted';
    return {
      stream: 'stdout',
      text: `${green('done')}: ${op.kind} ${op.id} ${what}${last ? `; ${last.message.replace(/^[^;]*;\s*/, '')}` : ''}\n`,
      code: EXIT.OK,
    };
  }
  const error = op.error;
  let text = `${red(op.outcome ?? 'failed')}: ${error ? withCode(error.message, error.code) : 'see the events above'}\n`;
  const hint = (error as { hint?: string } | null)?.hint;
  if (hint) text += `${dim('hint:')} ${hint}\n`;
  else if (error?.code !== 'DEPLOY_ABORTED')
    text += `${dim('hint:')} \`cutover logs ${op.service} --release ${op.releaseId ?? ''}\` shows the instance output\n`;
  return { stream: 'stderr', text, code: exitCodeOfOutcome(op, false) };
}

/**
 * `<message> (CODE)`, the code at the end of the message's first line: `failed: <what happened>` reads
 * first, and the code stays on the line `head -1` or a grep shows even when log lines follow.
 */
function withCode(message: string, code: string): string {
  const end = message.indexOf('\n');
  return end < 0 ? `${message} (${code})` : `${message.slice(0, end)} (${code})${message.slice(end)}`;
}
