import { api, ApiError, DASHBOARD_ACTOR } from './api-client.js';
import { confirmAction } from './confirm-dialog.js';
import { DeployTimeline } from './deploy-timeline.js';
import { formatClock, formatDuration, h } from './dom.js';
import { ReleaseCharts } from './release-charts.js';
import type { EventRecord, MetricsPoint, MigrationEntry, ServiceStatus, SlotStatus } from './wire-types.js';

/**
 * One service: its releases with instance health, the traffic split, the
 * live charts, the buttons that steer it, the running deploy's timeline,
 * the recent operations and, when it has a database, the migrations that
 * wait. The card is made once and updated in place, so the charts and the
 * timeline survive every status push.
 */
interface Action {
  name: 'approve' | 'promote' | 'pause' | 'resume' | 'abort' | 'rollback';
  label: string;
  enabled: (status: ServiceStatus) => boolean;
  explain: (status: ServiceStatus) => string;
}

const running = (s: ServiceStatus): boolean => s.operation !== null;
const steerable = (s: ServiceStatus): boolean => running(s) && s.strategy !== 'blue-green';

/** A gate that waits for `approve` (approval: true): a canary step, or a blue-green switch at `ready`. */
const awaitingApproval = (s: ServiceStatus): boolean =>
  s.canary?.pausedBy === 'approval' || (s.strategy === 'blue-green' && s.operation?.phase === 'ready');

const ACTIONS: Action[] = [
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
    enabled: running,
    explain: (s) =>
      s.canary ? `The canary ${s.canary.version} moves to its next step.` : 'The new release gets the traffic.',
  },
  {
    name: 'pause',
    label: 'Pause',
    enabled: steerable,
    explain: () => 'The rollout stays at its current step until resumed.',
  },
  { name: 'resume', label: 'Resume', enabled: steerable, explain: () => 'The rollout continues from where it paused.' },
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

export class ServiceCard {
  readonly root: HTMLElement;
  private status: ServiceStatus;
  private readonly charts: ReleaseCharts;
  private readonly timeline = new DeployTimeline();
  private readonly parts = {
    phase: h('span', { class: 'phase', 'data-field': 'phase' }),
    releases: h('div', { class: 'releases', 'data-field': 'releases' }),
    split: h('div', { class: 'split', 'data-field': 'split' }),
    observed: h('p', { class: 'muted', 'data-field': 'observed' }),
    message: h('p', { class: 'message', role: 'alert', hidden: true }),
    history: h('tbody', { 'data-field': 'history' }),
    migrations: h('tbody'),
    migrationsSection: h('section', { 'data-field': 'migrations', hidden: true }),
  };
  private readonly buttons = new Map<Action['name'], HTMLButtonElement>();

  constructor(status: ServiceStatus) {
    this.status = status;
    this.charts = new ReleaseCharts(status.service);
    const actions = h('div', { class: 'actions' });
    for (const action of ACTIONS) {
      const button = h('button', { type: 'button', 'data-action': action.name }, action.label);
      button.addEventListener('click', () => {
        void this.run(action);
      });
      this.buttons.set(action.name, button);
      actions.append(button);
    }
    this.parts.migrationsSection.append(
      h('h3', {}, 'Migrations'),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'migration'), h('th', {}, 'phase'), h('th', {}, 'state'), h('th', {}, 'why')),
        ),
        this.parts.migrations,
      ),
    );
    this.root = h(
      'article',
      { class: 'service', 'data-service': status.service },
      h(
        'div',
        { class: 'service-head' },
        h('h2', {}, status.service),
        h('span', { class: 'strategy' }, status.strategy),
        this.parts.phase,
        h('small', {}, status.hosts.join(', ')),
      ),
      this.parts.releases,
      h('h3', {}, 'Traffic'),
      this.parts.split,
      this.parts.observed,
      h('h3', {}, 'Live'),
      this.charts.root,
      actions,
      this.parts.message,
      h('h3', {}, 'Deploy ', this.timeline.title),
      this.timeline.list,
      h('h3', {}, 'History'),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'operation'),
            h('th', {}, 'release'),
            h('th', {}, 'outcome'),
            h('th', {}, 'duration'),
            h('th', {}, 'by'),
          ),
        ),
        this.parts.history,
      ),
      this.parts.migrationsSection,
    );
    this.update(status);
    void this.loadMigrations();
  }

  update(status: ServiceStatus): void {
    this.status = status;
    const { parts } = this;
    parts.phase.textContent = status.operation
      ? `${status.operation.kind}: ${status.canary ? `${status.canary.phase}, step ${status.canary.step}/${status.canary.steps}` : status.operation.phase}`
      : '';
    const slots: [string, SlotStatus | null][] = [
      ['active', status.active],
      ['canary', status.canary],
      ['standby', status.standby],
    ];
    parts.releases.replaceChildren(
      ...slots
        .filter((entry): entry is [string, SlotStatus] => entry[1] !== null)
        .map(([role, slot]) => releaseBox(role, slot)),
    );
    parts.split.replaceChildren(
      ...splitOf(status).map(({ role, label, weight }) =>
        h(
          'span',
          { 'data-role': role, 'data-weight': weight, style: `flex: 0 0 ${weight}%` },
          weight > 0 ? `${label} ${weight}%` : '',
        ),
      ),
    );
    parts.history.replaceChildren(
      ...status.recent.map((op) =>
        h(
          'tr',
          { 'data-operation': op.id },
          h('td', {}, op.kind, h('br'), h('small', {}, formatClock(op.startedAt))),
          h('td', {}, op.from && op.from !== op.to ? `${op.from} → ${op.to ?? '?'}` : (op.to ?? '')),
          h(
            'td',
            { class: `outcome-${op.outcome ?? 'running'}` },
            op.outcome ?? 'running',
            op.error ? h('small', {}, ` ${op.error}`) : null,
          ),
          h('td', {}, op.durationMs === null ? '' : formatDuration(op.durationMs)),
          h('td', {}, op.actor),
        ),
      ),
    );
    for (const action of ACTIONS) this.buttons.get(action.name)!.disabled = !action.enabled(status);
    const versions = new Map<string, string>();
    for (const [, slot] of slots) if (slot) versions.set(slot.releaseId, slot.version);
    this.charts.setVersions(versions);
    const shown = status.operation ?? (status.recent[0] ? { ...status.recent[0], kind: status.recent[0].kind } : null);
    this.timeline.show(shown?.id ?? null, shown?.kind ?? null, shown?.startedAt ?? 0).catch((error: unknown) => {
      this.say(error);
    });
  }

  onEvent(event: EventRecord): void {
    this.timeline.add(event);
    if (/^(deploy|rollback|switch)\.(succeeded|failed|aborted)$|^migration\./.test(event.type))
      void this.loadMigrations();
  }

  onMetrics(points: MetricsPoint[]): void {
    this.charts.push(points);
    const last = points.at(-1)?.releases.filter((r) => r.service === this.status.service) ?? [];
    const total = last.reduce((sum, r) => sum + r.requestsPerSecond, 0);
    const name = (id: string): string =>
      [this.status.active, this.status.canary, this.status.standby].find((s) => s?.releaseId === id)?.version ?? id;
    this.parts.observed.textContent =
      total > 0
        ? `observed: ${last
            .filter((r) => r.requestsPerSecond > 0)
            .map((r) => `${name(r.releaseId)} ${Math.round((r.requestsPerSecond / total) * 100)}%`)
            .join(' · ')} of ${total.toFixed(1)} req/s`
        : 'observed: no requests in the last second';
  }

  private async run(action: Action): Promise<void> {
    const name = this.status.service;
    const ok = await confirmAction(`${action.label} ${name}?`, action.explain(this.status), action.label);
    if (!ok) return;
    this.parts.message.hidden = true;
    try {
      await api('POST', `/api/v1/services/${encodeURIComponent(name)}/${action.name}`, { actor: DASHBOARD_ACTOR });
    } catch (error) {
      this.say(error);
    }
  }

  private say(error: unknown): void {
    this.parts.message.textContent =
      error instanceof ApiError && error.hint
        ? `${error.message}. ${error.hint}`
        : String((error as Error)?.message ?? error);
    this.parts.message.hidden = false;
  }

  private async loadMigrations(): Promise<void> {
    try {
      const answer = await api<{ migrations: MigrationEntry[] }>(
        'GET',
        `/api/v1/services/${encodeURIComponent(this.status.service)}/migrations`,
      );
      const waiting = answer.migrations.filter((m) => m.state !== 'applied');
      this.parts.migrations.replaceChildren(
        ...(waiting.length > 0
          ? waiting.map((m) =>
              h(
                'tr',
                { 'data-state': m.state },
                h('td', {}, m.id),
                h('td', {}, m.phase),
                h('td', {}, m.state),
                h('td', {}, m.reason ?? ''),
              ),
            )
          : [h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'every migration is applied'))]),
      );
      this.parts.migrationsSection.hidden = false;
    } catch {
      // No database for this service (or it is unreachable): the section stays hidden.
      this.parts.migrationsSection.hidden = true;
    }
  }
}

function releaseBox(role: string, slot: SlotStatus): HTMLElement {
  return h(
    'div',
    { class: 'release', 'data-role': role, 'data-release': slot.releaseId },
    h('div', { class: 'role' }, `${role} · slot ${slot.slot}`),
    h('div', { class: 'version' }, slot.version),
    h('small', {}, `${slot.releaseId} · ${slot.running} healthy`),
    h(
      'div',
      { class: 'instances' },
      ...slot.instances.map((i) =>
        h(
          'span',
          { class: 'instance', 'data-health': i.health, title: `port ${i.port}, ${i.restarts} restart(s)` },
          `#${i.index} ${i.health}`,
        ),
      ),
    ),
  );
}

function splitOf(status: ServiceStatus): { role: string; label: string; weight: number }[] {
  if (!status.active && !status.canary) return [{ role: 'none', label: 'no release', weight: 100 }];
  const canary = status.canary?.weight ?? 0;
  const parts = [{ role: 'active', label: status.active?.version ?? '—', weight: 100 - canary }];
  if (status.canary) parts.push({ role: 'canary', label: status.canary.version, weight: canary });
  return parts;
}
