import type { CanaryState } from './canary-strategy.js';

/**
 * Why a person's `promote`, `approve`, `pause` or `resume` changed nothing in a running canary, and the
 * command that does apply now. "the canary of shop is paused; resume does not apply" left a person at a
 * `pause: promote` step guessing, as the canary *was* paused: resume only continues a pause it can end
 * (a person's, or an inconclusive analysis'), while a step without a pause time waits for promote and an
 * approval gate for approve.
 *
 * Pure: the runner passes the state the command found.
 */
export function canaryCommandRefusal(
  state: CanaryState,
  service: string,
  command: 'promote' | 'approve' | 'pause' | 'resume',
): { message: string; hint: string } {
  const at =
    state.stepIndex >= 0 ? `step ${state.stepIndex + 1}/${state.steps.length} (${state.weight}% of traffic)` : null;
  const back = `\`cutover abort ${service}\` to send all traffic back to the stable release`;
  const status = `Run \`cutover status ${service}\` to see what the canary is doing.`;
  if (state.phase === 'paused' && at !== null) {
    if (state.pausedBy === 'approval')
      return {
        message: `the canary of ${service} waits at ${at} for an approval; ${command} does not pass it`,
        hint: `Run \`cutover approve ${service}\` (recorded with who approved), or ${back}.`,
      };
    if (state.pausedBy === 'step')
      return {
        message: `the canary of ${service} waits at ${at} for promote: the step has no pause time, and only promote ends it`,
        hint: `Run \`cutover promote ${service}\` to go on to the next step, or ${back}.`,
      };
    return {
      message: `the canary of ${service} is already paused at ${at}${state.pausedBy === 'inconclusive' ? ' (its analysis was inconclusive)' : ''}`,
      hint: `Run \`cutover resume ${service}\` to go on with the step, \`cutover promote ${service}\` to skip to the next one, or ${back}.`,
    };
  }
  if (state.phase === 'stepping' && at !== null && command === 'resume')
    return {
      message: `the canary of ${service} is not paused: it runs ${at}`,
      hint: `Run \`cutover pause ${service}\` to hold it at this step, or \`cutover status ${service}\` to see it.`,
    };
  if (state.phase === 'stepping' && at !== null && command === 'approve')
    return {
      message: `the canary of ${service} waits for no approval: it runs ${at}`,
      hint: `Approval gates are canary steps with approval: true. ${status}`,
    };
  const phase =
    state.phase === 'verifying'
      ? 'waiting for its instances to become healthy'
      : state.phase === 'concluding'
        ? `ending ${at ?? 'its step'}`
        : state.phase === 'post-promotion'
          ? 'promoted, in its post-promotion window'
          : state.phase;
  return {
    message: `the canary of ${service} is ${phase}; ${command} does not apply`,
    hint:
      state.phase === 'post-promotion'
        ? `Run \`cutover finish ${service}\` to end the window keeping the new release, or ${back}.`
        : status,
  };
}
