import type { OperationRecord } from '../../store/records.js';
import type { AdminClient } from '../admin-client.js';
import { EXIT, exitCodeOfOutcome, type ExitCode } from '../exit-codes.js';
import { followOperation } from '../follow-operation.js';
import { dim, green, printJson, red, yellow } from '../output.js';
import { currentActor } from './operation-commands.js';

/**
 * `cutover deploy --all --version V`: a thin client of the server's
 * multi-service deploy (POST /api/v1/deploys), which runs the waves
 * (non-critical services side by side, then each critical one alone), keeps
 * every service's gates (an approval-gated blue-green waits for `cutover
 * approve`), stops at the first failure and survives a server restart. This
 * command only starts it and follows its events.
 */
export async function runDeployAll(
  client: AdminClient,
  body: { version: string; services?: string[]; autoSwitch?: boolean; autoCleanup?: boolean; skipHealth?: boolean },
  options: { json: boolean; wait: boolean; timeoutMs?: number | null },
): Promise<ExitCode> {
  const { operation } = await client.request<{ operation: OperationRecord }>('POST', '/api/v1/deploys', {
    ...body,
    actor: currentActor(),
  });
  if (!options.wait) {
    if (options.json) printJson({ operation });
    else process.stdout.write(`deploy ${operation.id} of ${body.version} started; follow it with \`cutover status\`\n`);
    return EXIT.OK;
  }
  const result = await followOperation(client, operation, {
    quiet: options.json,
    timeoutMs: options.timeoutMs,
    children: (wave) => (wave.state as { deploys?: Record<string, string> } | null)?.deploys ?? {},
  });
  const op = result.operation;
  const code = result.timedOut ? EXIT.TIMED_OUT : exitCodeOfOutcome(op, false);
  if (options.json) {
    printJson({ operation: op, events: result.events, timedOut: result.timedOut, exitCode: code });
  } else if (result.timedOut) {
    process.stderr.write(
      `${yellow('timed out')}: stopped following deploy ${op.id} (${op.phase}); it goes on on the server: \`cutover status\`\n`,
    );
  } else if (op.outcome === 'succeeded') {
    process.stdout.write(`${green('done')}: deploy ${op.id} of ${body.version} succeeded\n`);
  } else {
    process.stderr.write(`${red(op.outcome ?? 'failed')}: ${op.error?.message ?? 'see the events above'}\n`);
    process.stderr.write(
      `${dim('hint:')} \`cutover status\` shows each service; \`cutover history <service>\` why one failed\n`,
    );
  }
  return code;
}
