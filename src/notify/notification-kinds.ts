import type { NotificationKind } from '../config/types.js';
import type { Notification } from './notification.js';

/**
 * Which controller events are worth a notification, and as what. The
 * controller records many more (instance started, health waiting, analysis
 * measurements): those stay in `cutover history` and the log.
 *
 * - `started`: a deploy or a rollback that starts a release (deploy.started, rollback.started)
 * - `switched`: traffic moved to another release (traffic.switched; also on rollback and switch back)
 * - `promoted`: a person's promote, a canary step reached, a canary at 100%
 * - `analysis_failed`: an analysis run ended Failed (before/after a switch, a canary step, a flag rollout)
 * - `aborted`, `failed`: the operation ended so (traffic stays on, or went back to, the previous release)
 * - `rolled_back`: an automatic switch back (post-promotion, canary, rolling) or a `cutover rollback` that succeeded
 * - `completed`: a deploy succeeded
 * - `flag_change`: a scheduled flag change (made, applied, failed, cancelled) or one waiting for
 *   an approval (proposed, approved, rejected)
 * - `maintenance`: a service went into maintenance or came out of it
 */
const KIND_OF_EVENT: Readonly<Record<string, NotificationKind>> = {
  'deploy.started': 'started',
  'rollback.started': 'started',
  'traffic.switched': 'switched',
  'deploy.promoted': 'promoted',
  'canary.step': 'promoted',
  'canary.promoted': 'promoted',
  'analysis.failed': 'analysis_failed',
  'deploy.aborted': 'aborted',
  'rollback.aborted': 'aborted',
  'switch.aborted': 'aborted',
  'deploy.failed': 'failed',
  'rollback.failed': 'failed',
  'deploy.rolled-back': 'rolled_back',
  'canary.rolled-back': 'rolled_back',
  'rolling.rolled-back': 'rolled_back',
  'rollback.succeeded': 'rolled_back',
  'deploy.succeeded': 'completed',
  'flag-rollout.started': 'flag_rollout_started',
  'flag-rollout.succeeded': 'flag_rollout_succeeded',
  'flag-rollout.failed': 'flag_rollout_failed',
  'flag-rollout.aborted': 'flag_rollout_failed',
  'flag-schedule.created': 'flag_change',
  'flag-schedule.applied': 'flag_change',
  'flag-schedule.failed': 'flag_change',
  'flag-schedule.cancelled': 'flag_change',
  'flag-change.proposed': 'flag_change',
  'flag-change.approved': 'flag_change',
  'flag-change.rejected': 'flag_change',
  'flag-change.failed': 'flag_change',
  'maintenance.on': 'maintenance',
  'maintenance.off': 'maintenance',
};

export function notificationKindOf(eventType: string): NotificationKind | null {
  return Object.hasOwn(KIND_OF_EVENT, eventType) ? KIND_OF_EVENT[eventType]! : null;
}

/** A short headline: "deploy started", "rollback started", "traffic switched". */
export function notificationTitle(notification: Pick<Notification, 'kind' | 'event'>): string {
  const operation = notification.event.startsWith('rollback.') ? 'rollback' : 'deploy';
  switch (notification.kind) {
    case 'started':
      return `${operation} started`;
    case 'switched':
      return 'traffic switched';
    case 'promoted':
      return 'promoted';
    case 'analysis_failed':
      return 'analysis failed';
    case 'aborted':
      return `${operation} aborted`;
    case 'failed':
      return `${operation} failed`;
    case 'rolled_back':
      return 'rolled back';
    case 'completed':
      return 'deploy completed';
    case 'flag_rollout_started':
      return 'flag rollout started';
    case 'flag_rollout_succeeded':
      return 'flag rollout succeeded';
    case 'flag_rollout_failed':
      return notification.event === 'flag-rollout.aborted' ? 'flag rollout aborted' : 'flag rollout failed';
    case 'flag_change':
      return FLAG_CHANGE_TITLES[notification.event] ?? 'flag change';
    case 'maintenance':
      return notification.event === 'maintenance.off' ? 'maintenance ended' : 'maintenance started';
  }
}

const FLAG_CHANGE_TITLES: Readonly<Record<string, string>> = {
  'flag-schedule.created': 'flag change scheduled',
  'flag-schedule.applied': 'scheduled flag change applied',
  'flag-schedule.failed': 'scheduled flag change failed',
  'flag-schedule.cancelled': 'scheduled flag change cancelled',
  'flag-change.proposed': 'flag change awaits approval',
  'flag-change.approved': 'flag change approved',
  'flag-change.rejected': 'flag change rejected',
  'flag-change.failed': 'approved flag change failed',
};

export type NotificationTone = 'good' | 'bad' | 'warning' | 'neutral';

/** How the chat messages colour it. */
export function notificationTone(kind: NotificationKind): NotificationTone {
  switch (kind) {
    case 'completed':
    case 'flag_rollout_succeeded':
      return 'good';
    case 'analysis_failed':
    case 'aborted':
    case 'failed':
    case 'flag_rollout_failed':
      return 'bad';
    case 'rolled_back':
    case 'maintenance':
    case 'flag_change':
      return 'warning';
    case 'started':
    case 'switched':
    case 'promoted':
    case 'flag_rollout_started':
      return 'neutral';
  }
}

export const KIND_EMOJI: Readonly<Record<NotificationKind, string>> = {
  started: '🚀',
  switched: '🔀',
  promoted: '⏫',
  analysis_failed: '📉',
  aborted: '⛔',
  failed: '❌',
  rolled_back: '↩️',
  completed: '✅',
  flag_rollout_started: '🚩',
  flag_rollout_succeeded: '✅',
  flag_rollout_failed: '❌',
  flag_change: '🗓️',
  maintenance: '🚧',
};
