import os from 'node:os';
import type { OperationRecord } from '../../store/records.js';
import type { AdminClient } from '../admin-client.js';
import { EXIT, exitCodeOfOutcome, type ExitCode } from '../exit-codes.js';
import { followOperation } from '../follow-operation.js';
import { dim, green, printJson, red, yellow } from '../output.js';

/** Who started an operation, as recorded in the release snapshot: user@host unless CUTOVER_ACTOR says otherwise. */
export function currentActor(): string {
  return process.env.CUTOVER_ACTOR ?? `${os.userInfo().username}@${os.hostname()}`;
}

/**
 * Sends a write operation, then follows it to its outcome; the exit code says
 * which (exit-codes.ts): 0 succeeded, 3 aborted or rolled back, 4 timed out,
 * 7 waiting for a person (a deploy at `ready`, a canary paused)...
 */
export async function runOperation(
  client: AdminClient,
  path: string,
  body: Record<string, unknown>,
  options: { json: boolean; wait: boolean; timeoutMs?: number | null },
): Promise<ExitCode> {
  const { operation } = await client.request<{ operation: OperationRecord }>('POST', path, {
    ...body,
    actor: currentActor(),
  });
  if (!options.wait) {
    if (options.json) printJson({ operation });
    else
      process.stdout.write(
        `${operation.kind} ${operation.id} started; follow it with \`cutover status ${operation.service}\`\n`,
      );
    return EXIT.OK;
  }
  const result = await followOperation(client, operation, { quiet: options.json, timeoutMs: options.timeoutMs });
  const op = result.operation;
  const code = result.timedOut ? EXIT.TIMED_OUT : exitCodeOfOutcome(op, result.waitingForPromote);
  if (options.json) {
    printJson({
      operation: op,
      events: result.events,
      waitingForPromote: result.waitingForPromote,
      timedOut: result.timedOut,
      exitCode: code,
    });
  } else if (result.timedOut) {
    process.stderr.write(
      `${yellow('timed out')}: stopped following ${op.kind} ${op.id} (${op.phase}); it goes on on the server: \`cutover status ${op.service}\`\n`,
    );
  } else if (result.waitingForPromote && op.phase === 'paused') {
    process.stdout.write(
      `${yellow('paused')}: ${op.kind} ${op.id} waits for a person.\n` +
        `${dim('next:')} cutover approve ${op.service} / cutover resume ${op.service}   (or cutover abort ${op.service})\n`,
    );
  } else if (result.waitingForPromote) {
    process.stdout.write(
      `${yellow('ready')}: the new release is healthy and receives no traffic yet.\n` +
        `${dim('next:')} cutover promote ${op.service}   (or cutover approve / abort ${op.service})\n`,
    );
  } else if (op.outcome === 'succeeded') {
    process.stdout.write(`${green('done')}: ${op.kind} ${op.id} succeeded\n`);
  } else {
    process.stderr.write(`${red(op.outcome ?? 'failed')}: ${op.error?.message ?? 'see the events above'}\n`);
    if (op.error?.hint) process.stderr.write(`${dim('hint:')} ${op.error.hint}\n`);
    else
      process.stderr.write(
        `${dim('hint:')} \`cutover logs ${op.service} --release ${op.releaseId ?? ''}\` shows the instance output\n`,
      );
  }
  return code;
}
