import { describeRouter, type RouterInUse } from '../../config/router-in-use.js';
import type { ServiceStatus, SlotStatus } from '../../controller/service-status.js';
import type { WaveSummary } from '../../controller/deploy-wave-runner.js';
import type { AdminClient } from '../admin-client.js';
import { bold, dim, formatDuration, formatTime, green, printJson, red, yellow } from '../output.js';

/**
 * `status --watch`: redraws on a terminal every interval; elsewhere (CI, a pipe,
 * --json) prints the status again only when it changed, so logs stay readable.
 */
export async function watchStatus(
  client: AdminClient,
  service: string | undefined,
  json: boolean,
  options: { intervalMs: number; signal?: AbortSignal },
): Promise<number> {
  const tty = Boolean(process.stdout.isTTY) && !json;
  let last = '';
  while (!options.signal?.aborted) {
    const statuses = await fetchStatuses(client, service);
    const text = json
      ? `${JSON.stringify(service ? statuses[0] : { services: statuses })}\n`
      : statuses.map(renderStatus).join('');
    if (tty)
      process.stdout.write(
        `\u001b[H\u001b[2J${dim(`cutover status — every ${options.intervalMs / 1000} s, Ctrl-C to stop — ${formatTime(Date.now())}`)}\n\n${text}`,
      );
    else if (text !== last) process.stdout.write(json ? text : `${dim(formatTime(Date.now()))}\n${text}`);
    last = text;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.intervalMs);
      options.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
  return 0;
}

async function fetchStatuses(client: AdminClient, service: string | undefined): Promise<ServiceStatus[]> {
  return service
    ? [await client.request<ServiceStatus>('GET', `/api/v1/services/${encodeURIComponent(service)}`)]
    : (await client.request<{ services: ServiceStatus[] }>('GET', '/api/v1/services')).services;
}

export async function runStatus(client: AdminClient, service: string | undefined, json: boolean): Promise<number> {
  if (service) {
    const status = await client.request<ServiceStatus>('GET', `/api/v1/services/${encodeURIComponent(service)}`);
    if (json) printJson(status);
    else process.stdout.write(renderStatus(status));
    return 0;
  }
  const answer = await client.request<{
    router?: RouterInUse;
    services: ServiceStatus[];
    deploy?: WaveSummary | null;
  }>('GET', '/api/v1/services');
  if (json) {
    printJson({ router: answer.router ?? null, services: answer.services, deploy: answer.deploy ?? null });
    return 0;
  }
  // A server older than this CLI does not say: no line rather than a guess.
  if (answer.router) process.stdout.write(`${dim('router:')} ${describeRouter(answer.router)}\n\n`);
  if (answer.deploy) process.stdout.write(renderWave(answer.deploy));
  for (const s of answer.services) process.stdout.write(renderStatus(s));
  return 0;
}

/** The multi-service deploy in progress: one line, then each service with its wave and progress. */
function renderWave(wave: WaveSummary): string {
  const mark = (p: WaveSummary['services'][number]['progress']): string =>
    p === 'succeeded'
      ? green('✓')
      : p === 'failed' || p === 'aborted'
        ? red('✗')
        : p === 'waiting'
          ? yellow('…')
          : p === 'running'
            ? yellow('▶')
            : dim('·');
  const lines = wave.services.map(
    (s) =>
      `  ${mark(s.progress)} ${s.service.padEnd(16)} wave ${s.wave}  ${s.progress}${s.progress === 'waiting' ? ` (${s.phase}: cutover approve/promote/resume ${s.service})` : ''}\n`,
  );
  return `${bold(`deploy ${wave.version}`)} ${dim(wave.id)}: wave ${wave.wave} of ${wave.waves}, started by ${wave.actor}\n${lines.join('')}\n`;
}

/** Only blue-green and canary releases live in a slot; rolling and recreate replace instances in place. */
const SLOT_STRATEGIES = new Set(['blue-green', 'canary']);

function slotLine(label: string, slot: SlotStatus | null, showSlot = true): string {
  if (!slot) return `  ${label.padEnd(8)} ${dim('none')}\n`;
  const healthy = slot.instances.filter((i) => i.health === 'healthy').length;
  const count = `${slot.running} healthy`;
  const tint = healthy === 0 ? red : healthy < slot.instances.length ? yellow : green;
  const extra = slot.scaleDownAt
    ? `stops ${formatTime(slot.scaleDownAt)}`
    : slot.since
      ? `since ${formatTime(slot.since)}`
      : '';
  const where = showSlot ? `${bold(slot.slot.padEnd(5))} ` : '';
  let text = `  ${label.padEnd(8)} ${where}${slot.version} (${slot.releaseId})  instances ${tint(count)}  ${dim(extra)}\n`;
  for (const i of slot.instances) {
    text += dim(
      `           ${i.id}  port ${i.port}  ${i.node ? `node ${i.node}` : `pid ${i.pid ?? '-'}`}  ${i.health}${i.restarts ? `  restarts ${i.restarts}` : ''}\n`,
    );
  }
  return text;
}

export function renderStatus(s: ServiceStatus): string {
  let text = `${bold(s.service)}  ${dim(`${s.hosts.join(', ')}${s.default ? ' (default)' : ''}  strategy ${s.strategy}`)}\n`;
  const slots = SLOT_STRATEGIES.has(s.strategy);
  // First: while it is on, users see the maintenance page whatever the slots below say.
  // An older server's answer has no field; `?? null` keeps this command working against it.
  const m = s.maintenance ?? null;
  if (m)
    text += `  ${red('maintenance')}  on since ${formatTime(m.since)} by ${m.actor}: users get 503 (Retry-After ${m.retryAfterSec} s)${m.allow.length ? `; allowed: ${m.allow.join(', ')}` : ''}\n`;
  text += slotLine('active', s.active, slots);
  const last = s.recent[0];
  // Not deployed yet and stopped look alike otherwise: both have no active release and answer 503.
  if (!s.active && last?.kind === 'down' && last.outcome === 'succeeded')
    text += `           ${yellow('stopped')} by \`cutover down\` ${formatTime(last.startedAt)} (${last.actor}); \`cutover rollback ${s.service}\` or a deploy starts it again\n`;
  // A rolling service has no standby to roll back to instantly: a standby line of "none" would suggest one.
  if (slots || s.standby) text += slotLine('standby', s.standby, slots);
  // An older server's answer has no field.
  const incoming = s.incoming ?? null;
  if (incoming) {
    text += slotLine('new', incoming, slots);
    text += `           ${yellow('no traffic yet')}${s.operation?.phase === 'ready' ? `: \`cutover promote ${s.service}\` switches to it` : ''}\n`;
  }
  if (s.canary) {
    text += slotLine('canary', s.canary);
    text += `           ${yellow(`${s.canary.weight}% of traffic`)}, step ${s.canary.step}/${s.canary.steps} (${s.canary.pausedBy ? `paused: ${s.canary.pausedBy}` : s.canary.phase})\n`;
  }
  if (s.operation)
    text += `  ${yellow('running')}  ${s.operation.kind} ${s.operation.id} (${s.operation.phase}) by ${s.operation.actor}\n`;
  if (s.analysis.length) {
    text += '  analysis:\n';
    for (const m of s.analysis) {
      const tint = m.phase === 'failed' ? red : m.phase === 'successful' ? green : yellow;
      text += `    ${formatTime(m.at)}  ${m.template}/${m.metric} = ${formatValue(m.value)}  ${tint(m.phase)}\n`;
    }
  }
  if (s.recent.length) {
    text += '  recent:\n';
    for (const op of s.recent) {
      const outcome = op.outcome === 'succeeded' ? green(op.outcome) : op.outcome ? red(op.outcome) : yellow('running');
      const duration = op.durationMs === null ? '' : formatDuration(op.durationMs);
      text += `    ${formatTime(op.startedAt)}  ${op.kind.padEnd(8)} ${op.from ?? '-'} → ${op.to ?? '-'}  ${outcome}  ${dim(duration)}  ${dim(`by ${op.actor}`)}\n`;
      if (op.error) text += dim(`      ${op.error.split('\n')[0]}\n`);
    }
  }
  return text;
}

export function formatValue(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  return value === null || value === undefined ? '-' : JSON.stringify(value).slice(0, 60);
}
