import type { OperationRecord, ReleaseRecord } from '../../store/records.js';
import type { AnalysisMeasurement } from '../../controller/analysis-measurement.js';
import type { AdminClient } from '../admin-client.js';
import { formatValue } from './status-command.js';
import { bold, dim, formatDuration, formatTime, green, printJson, red } from '../output.js';

export async function runHistory(client: AdminClient, service: string, json: boolean): Promise<number> {
  const history = await client.request<{
    service: string;
    releases: ReleaseRecord[];
    operations: OperationRecord[];
    analysis: AnalysisMeasurement[];
  }>('GET', `/api/v1/services/${encodeURIComponent(service)}/history`);
  if (json) {
    printJson(history);
    return 0;
  }
  process.stdout.write(`${bold('releases')} of ${service} (newest first)\n`);
  for (const r of history.releases) {
    const state =
      r.state === 'active' ? green(r.state) : r.state === 'failed' || r.state === 'aborted' ? red(r.state) : r.state;
    const git = r.gitCommit ? dim(` ${r.gitCommit.slice(0, 8)}${r.gitBranch ? ` (${r.gitBranch})` : ''}`) : '';
    process.stdout.write(
      `  ${r.id.padEnd(12)} ${r.version.padEnd(14)} ${r.slot.padEnd(5)} ${state.padEnd(8)} ${formatTime(r.createdAt)} by ${r.createdBy}${git}\n`,
    );
    if (r.error) process.stdout.write(dim(`      ${r.error.message.split('\n')[0]}\n`));
  }
  process.stdout.write(`${bold('operations')}\n`);
  for (const op of history.operations) {
    const outcome = op.outcome === 'succeeded' ? green(op.outcome) : op.outcome ? red(op.outcome) : 'running';
    const duration = op.finishedAt ? formatDuration(op.finishedAt - op.startedAt) : '';
    process.stdout.write(
      `  ${formatTime(op.startedAt)}  ${op.kind.padEnd(8)} ${op.fromReleaseId ?? '-'} → ${op.releaseId ?? '-'}  ${outcome} ${dim(duration)} by ${op.actor}\n`,
    );
  }
  if (history.analysis.length) {
    process.stdout.write(`${bold('analysis')} (last ${Math.min(20, history.analysis.length)} measurements)\n`);
    for (const m of history.analysis.slice(-20)) {
      const verdict = m.phase === 'failed' ? red(m.phase) : m.phase === 'successful' ? green(m.phase) : m.phase;
      process.stdout.write(
        `  ${formatTime(m.at)}  ${(m.releaseId ?? '-').padEnd(12)} ${m.template}/${m.metric} = ${formatValue(m.value)}  ${verdict}${m.synthetic ? dim(` (synthetic: ${m.synthetic.requests} requests, ${m.synthetic.failed} failed)`) : ''}\n`,
      );
    }
  }
  return 0;
}
