import os from 'node:os';
import type { OperationRecord } from '../../store/records.js';
import type { AdminClient } from '../admin-client.js';
import { followOperation } from '../follow-operation.js';
import { dim, green, printJson, red, yellow } from '../output.js';

/** Who started an operation, as recorded in the release snapshot: user@host unless CUTOVER_ACTOR says otherwise. */
export function currentActor(): string {
  return process.env.CUTOVER_ACTOR ?? `${os.userInfo().username}@${os.hostname()}`;
}

/**
 * Sends a write operation, then follows it to its outcome. Exit code 0 only
 * when it succeeded (or, for a deploy without auto switch, reached `ready`).
 */
export async function runOperation(
  client: AdminClient, path: string, body: Record<string, unknown>, options: { json: boolean; wait: boolean },
): Promise<number> {
  const { operation } = await client.request<{ operation: OperationRecord }>('POST', path, { ...body, actor: currentActor() });
  if (!options.wait) {
    if (options.json) printJson({ operation });
    else process.stdout.write(`${operation.kind} ${operation.id} started; follow it with \`cutover status ${operation.service}\`\n`);
    return 0;
  }
  const result = await followOperation(client, operation, { quiet: options.json });
  const op = result.operation;
  if (options.json) {
    printJson({ operation: op, events: result.events, waitingForPromote: result.waitingForPromote });
  } else if (result.waitingForPromote) {
    process.stdout.write(`${yellow('ready')}: the new release is healthy and receives no traffic yet.\n` +
      `${dim('next:')} cutover promote ${op.service}   (or cutover abort ${op.service})\n`);
  } else if (op.outcome === 'succeeded') {
    process.stdout.write(`${green('done')}: ${op.kind} ${op.id} succeeded\n`);
  } else {
    process.stderr.write(`${red(op.outcome ?? 'failed')}: ${op.error?.message ?? 'see the events above'}\n`);
    if (op.error?.hint) process.stderr.write(`${dim('hint:')} ${op.error.hint}\n`);
    else process.stderr.write(`${dim('hint:')} \`cutover logs ${op.service} --release ${op.releaseId ?? ''}\` shows the instance output\n`);
  }
  return op.outcome === 'succeeded' || result.waitingForPromote ? 0 : 1;
}
