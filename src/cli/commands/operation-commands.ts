import os from 'node:os';
import type { OperationRecord } from '../../store/records.js';
import type { AdminClient } from '../admin-client.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { followOperation, interruptNote } from '../follow-operation.js';
import { pausedReport, reportOf, type FollowedCommand } from '../operation-report.js';
import { dim, printJson, yellow } from '../output.js';
import type { ServiceStatus } from '../../controller/service-status.js';

/** Who started an operation, as recorded in the release snapshot: user@host unless CUTOVER_ACTOR says otherwise. */
export function currentActor(): string {
  return process.env.CUTOVER_ACTOR ?? `${os.userInfo().username}@${os.hostname()}`;
}

/**
 * Sends a write operation, then follows it to its outcome; the exit code says
 * which (exit-codes.ts): 0 succeeded, 3 aborted or rolled back, 4 timed out,
 * 7 waiting for a person, 8 paused... The text is operation-report.ts's.
 */
export async function runOperation(
  client: AdminClient,
  path: string,
  body: Record<string, unknown>,
  options: {
    json: boolean;
    wait: boolean;
    timeoutMs?: number | null;
    command?: FollowedCommand | 'pause' | 'approve';
  },
): Promise<ExitCode> {
  const { operation, eventsAfter } = await client.request<{ operation: OperationRecord; eventsAfter?: number }>(
    'POST',
    path,
    { ...body, actor: currentActor() },
  );
  if (options.command === 'pause') {
    // The answer is the paused rollout: say where it holds, not that an operation "started".
    if (options.json) printJson({ operation });
    else process.stdout.write(pausedReport(operation, []).text);
    return EXIT.OK;
  }
  if (!options.wait) {
    if (options.json) printJson({ operation });
    else
      process.stdout.write(
        `${operation.kind} ${operation.id} started; follow it with \`cutover status ${operation.service}\`\n`,
      );
    return EXIT.OK;
  }
  const command = options.command ?? 'other';
  const followed: FollowedCommand = command === 'approve' ? 'other' : command;
  const result = await followOperation(client, operation, {
    quiet: options.json,
    timeoutMs: options.timeoutMs,
    // approve shows the gate it passed (the operation's story so far) before what follows; the others start from now.
    after: command === 'approve' ? 0 : (eventsAfter ?? 0),
    onInterrupt: interruptNote(operation, followed),
  });
  const report = reportOf(
    {
      operation: result.operation,
      events: result.events,
      waiting: result.waitingForPromote,
      timedOut: result.timedOut,
    },
    followed,
  );
  if (options.json) {
    printJson({
      operation: result.operation,
      events: result.events,
      waitingForPromote: result.waitingForPromote,
      timedOut: result.timedOut,
      exitCode: report.code,
    });
  } else process[report.stream].write(report.text);
  return report.code;
}

/**
 * `cutover abort`: before traffic moved it stops the deploy; after (a
 * post-promotion window, a promoted canary) it is a rollback, and the user
 * reads so, with the release it goes back to, before anything is asked of the server.
 */
export async function runAbort(
  client: AdminClient,
  service: string,
  options: { json: boolean; timeoutMs?: number | null },
): Promise<ExitCode> {
  const path = `/api/v1/services/${encodeURIComponent(service)}`;
  const status = await client.request<ServiceStatus>('GET', path);
  // The phases in which the new release already serves everyone (blue-green `watching`, canary `post-promotion`).
  const switched = status.operation?.phase === 'watching' || status.operation?.phase === 'post-promotion';
  if (switched && !options.json) {
    const serving = status.active ? `${status.active.version} (${status.active.releaseId})` : 'the new release';
    const back = status.standby ? `${status.standby.version} (${status.standby.releaseId})` : 'the previous release';
    process.stdout.write(
      `${yellow('abort')}: traffic has already switched to ${serving}: this rolls ${service} back to ${back}.\n` +
        `${dim('(to keep')} ${serving}${dim(' and end the window instead:')} cutover finish ${service}${dim(')')}\n`,
    );
  }
  return runOperation(
    client,
    `${path}/abort`,
    {},
    { json: options.json, wait: true, timeoutMs: options.timeoutMs, command: 'abort' },
  );
}
