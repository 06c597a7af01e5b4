import type { ServiceStatus } from '../../controller/service-status.js';
import { deployWaves } from '../../core/deploy-order.js';
import type { OperationRecord } from '../../store/records.js';
import type { AdminClient } from '../admin-client.js';
import { exitCodeOfOutcome } from '../exit-codes.js';
import { followOperation } from '../follow-operation.js';
import { bold, green, printJson, red } from '../output.js';
import { currentActor } from './operation-commands.js';

/**
 * `cutover deploy --all --version V`: every service, non-critical ones first
 * (side by side), then each critical one alone; a wave starts only when the
 * one before succeeded. Blue-green services switch automatically here (each
 * waits for health before its switch). The first failure stops the rest.
 */
export async function runDeployAll(client: AdminClient, body: Record<string, unknown>, json: boolean): Promise<number> {
  const { services } = await client.request<{ services: ServiceStatus[] }>('GET', '/api/v1/services');
  const waves = deployWaves(services.map((s) => ({ name: s.service, critical: s.critical })));
  const results: { service: string; operation: OperationRecord }[] = [];
  for (const [index, wave] of waves.entries()) {
    if (!json) process.stdout.write(`${bold(`wave ${index + 1}/${waves.length}:`)} ${wave.join(', ')}\n`);
    const outcomes = await Promise.all(wave.map(async (service) => {
      const { operation } = await client.request<{ operation: OperationRecord }>('POST', `/api/v1/services/${encodeURIComponent(service)}/deploy`, {
        autoSwitch: true, ...body, actor: currentActor(),
      });
      const followed = await followOperation(client, operation, { quiet: json });
      return { service, operation: followed.operation, waiting: followed.waitingForPromote };
    }));
    results.push(...outcomes);
    const failed = outcomes.filter((o) => o.operation.outcome !== 'succeeded');
    if (failed.length > 0) {
      if (json) printJson({ results, stopped: true });
      for (const f of failed) process.stderr.write(`${red(f.operation.outcome ?? 'not finished')}: ${f.service}: ${f.operation.error?.message ?? f.operation.phase}\n`);
      const left = waves.slice(index + 1).flat();
      if (!json && left.length > 0) process.stderr.write(`not deployed: ${left.join(', ')}\n`);
      return exitCodeOfOutcome(failed[0]!.operation, failed[0]!.waiting);
    }
  }
  if (json) printJson({ results, stopped: false });
  else process.stdout.write(`${green('done')}: ${results.map((r) => r.service).join(', ')} updated\n`);
  return 0;
}
