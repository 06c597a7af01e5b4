import type { ServiceStatus } from './wire-types.js';

/**
 * The buttons of a service card and when each applies. A button is enabled
 * only when the controller would accept the command in the state shown
 * (src/controller/*-runner.ts): after a pause, Resume is, Pause is not.
 * Pure: the card renders, these decide.
 */
export type ActionName = 'approve' | 'promote' | 'pause' | 'resume' | 'finish' | 'abort' | 'rollback';

export interface Action {
  name: ActionName;
  label: string;
  enabled: (status: ServiceStatus) => boolean;
  explain: (status: ServiceStatus) => string;
}

const running = (s: ServiceStatus): boolean => s.operation !== null;

/** A gate that waits for `approve` (approval: true): a canary step, or a blue-green switch at `ready`. */
const awaitingApproval = (s: ServiceStatus): boolean =>
  s.canary?.pausedBy === 'approval' || (s.strategy === 'blue-green' && s.operation?.phase === 'ready');

/** core/canary-strategy.ts: promote moves a stepping, paused or concluding canary on, except past an approval gate. */
const promotable = (s: ServiceStatus): boolean => {
  if (!running(s)) return false;
  if (s.canary)
    return ['stepping', 'paused', 'concluding'].includes(s.canary.phase) && s.canary.pausedBy !== 'approval';
  return s.strategy === 'blue-green' && s.operation?.phase === 'ready';
};

/** Pause freezes a canary step's timer; only a step that is counting down can be paused. */
const pausable = (s: ServiceStatus): boolean => running(s) && s.canary?.phase === 'stepping';

/**
 * Resume continues a canary paused by a person or by an inconclusive analysis
 * (a step without a timer and an approval gate wait for promote and approve),
 * and a rolling update that stopped on a failed or inconclusive batch.
 */
const resumable = (s: ServiceStatus): boolean => {
  if (!running(s)) return false;
  if (s.canary)
    return s.canary.phase === 'paused' && (s.canary.pausedBy === 'user' || s.canary.pausedBy === 'inconclusive');
  return s.strategy === 'rolling' && s.operation?.phase === 'paused';
};

/** Finish ends a post-promotion window early: a promoted canary (`post-promotion`) or a switched blue-green (`watching`). */
const finishable = (s: ServiceStatus): boolean =>
  s.operation?.phase === 'post-promotion' || (s.strategy === 'blue-green' && s.operation?.phase === 'watching');

export const ACTIONS: readonly Action[] = [
  {
    name: 'approve',
    label: 'Approve',
    enabled: awaitingApproval,
    explain: (s) =>
      s.canary
        ? `The canary ${s.canary.version} may move past ${s.canary.weight}%; the approval is recorded as given from the dashboard.`
        : 'The switch may happen; the approval is recorded as given from the dashboard.',
  },
  {
    name: 'promote',
    label: 'Promote',
    enabled: promotable,
    explain: (s) =>
      s.canary ? `The canary ${s.canary.version} moves to its next step.` : 'The new release gets the traffic.',
  },
  {
    name: 'pause',
    label: 'Pause',
    enabled: pausable,
    explain: (s) => `The rollout stays at ${s.canary?.weight ?? 0}% until resumed.`,
  },
  {
    name: 'resume',
    label: 'Resume',
    enabled: resumable,
    explain: (s) =>
      s.canary ? `The canary continues its step at ${s.canary.weight}%.` : 'The rolling update continues.',
  },
  {
    name: 'finish',
    label: 'Finish',
    enabled: finishable,
    explain: (s) =>
      `The post-promotion window ends now: ${s.active?.version ?? 'the new release'} keeps serving and the deploy succeeds.`,
  },
  {
    name: 'abort',
    label: 'Abort',
    enabled: running,
    explain: (s) =>
      `Traffic stays on (or goes back to) ${s.active?.version ?? 'the active release'}; the new release stops.`,
  },
  {
    name: 'rollback',
    label: 'Roll back',
    enabled: (s) => !running(s) && s.active !== null,
    explain: (s) =>
      `Traffic moves from ${s.active?.version ?? '?'} back to the previous release${s.standby ? ` (${s.standby.version}, running in slot ${s.standby.slot})` : ''}.`,
  },
];

/** Which buttons are enabled for a status, by name: what the card sets and what the tests check. */
export function enabledActions(status: ServiceStatus): Set<ActionName> {
  return new Set(ACTIONS.filter((a) => a.enabled(status)).map((a) => a.name));
}
