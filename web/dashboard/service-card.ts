import { api, ApiError, DASHBOARD_ACTOR } from './api-client.js';
import { confirmAction } from './confirm-dialog.js';
import { DeployTimeline } from './deploy-timeline.js';
import { formatClock, formatDuration, h } from './dom.js';
import { describeObserved, observedShare } from './observed-share.js';
import { ReleaseCharts } from './release-charts.js';
import { releaseLegend, type ReleaseLegend } from './release-identity.js';
import { ACTIONS, type Action, type ActionName } from './service-actions.js';
import type { EventRecord, MetricsPoint, MigrationEntry, ServiceStatus, SlotStatus } from './wire-types.js';

/**
 * One service: its releases with instance health, the traffic split, the
 * live charts, the buttons that steer it, the running deploy's timeline,
 * the recent operations and, when it has a database, the migrations that
 * wait. The card is made once and updated in place, so the charts and the
 * timeline survive every status push. Each release has one label and one
 * color everywhere on the card (release-identity.ts).
 */

/** Strategies whose releases alternate between the blue and green slots: only there is the slot worth showing. */
const SLOTTED = new Set(['blue-green', 'canary']);

export class ServiceCard {
  readonly root: HTMLElement;
  private status: ServiceStatus;
  private readonly charts: ReleaseCharts;
  private readonly timeline = new DeployTimeline((at) => {
    this.trafficMovedAt = Math.max(this.trafficMovedAt ?? 0, at);
    this.renderObserved();
  });
  private legend: ReleaseLegend = releaseLegend([]);
  /** The split as last shown ("id:weight,…"), to notice a change. */
  private splitKey: string | null = null;
  private drawnSplit = '';
  /** Server time after which the split is the one shown: the observed split counts from there. */
  private trafficMovedAt: number | null = null;
  private readonly parts = {
    phase: h('span', { class: 'phase', 'data-field': 'phase' }),
    releases: h('div', { class: 'releases', 'data-field': 'releases' }),
    split: h('div', { class: 'split', 'data-field': 'split' }),
    observed: h('p', { class: 'muted observed', 'data-field': 'observed' }),
    message: h('p', { class: 'message', role: 'alert', hidden: true }),
    maintenance: h('p', { class: 'maintenance', 'data-field': 'maintenance', role: 'status', hidden: true }),
    history: h('tbody', { 'data-field': 'history' }),
    migrations: h('tbody'),
    migrationsSection: h('section', { 'data-field': 'migrations', hidden: true }),
  };
  private readonly buttons = new Map<ActionName, HTMLButtonElement>();

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
      this.parts.maintenance,
      this.parts.releases,
      h('h3', {}, 'Traffic (by weight)'),
      this.parts.split,
      this.parts.observed,
      h('h3', {}, 'Live'),
      this.charts.root,
      actions,
      this.parts.message,
      this.timeline.heading,
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

  /** textContent only: the message is the operator's text, never markup. */
  private renderMaintenance(status: ServiceStatus): void {
    const m = status.maintenance ?? null;
    this.parts.maintenance.hidden = m === null;
    if (m === null) {
      this.parts.maintenance.textContent = '';
      return;
    }
    const allowed = m.allow.length > 0 ? `; allowed: ${m.allow.join(', ')}` : '';
    this.parts.maintenance.textContent =
      `Maintenance since ${formatClock(m.since)} (${m.actor}): users get 503, Retry-After ${m.retryAfterSec} s${allowed}` +
      (m.message ? ` — “${m.message}”` : '');
  }

  update(status: ServiceStatus): void {
    this.status = status;
    const { parts } = this;
    parts.phase.textContent = status.operation
      ? `${status.operation.kind}: ${status.canary ? `${status.canary.phase}, step ${status.canary.step}/${status.canary.steps}` : status.operation.phase}`
      : '';
    this.renderMaintenance(status);
    const slots: [string, SlotStatus | null][] = [
      ['active', status.active],
      ['canary', status.canary],
      ['standby', status.standby],
    ];
    this.legend = releaseLegend(slots.map(([, slot]) => slot));
    const showSlot = SLOTTED.has(status.strategy);
    parts.releases.replaceChildren(
      ...slots
        .filter((entry): entry is [string, SlotStatus] => entry[1] !== null)
        .map(([role, slot]) => releaseBox(role, slot, this.legend, showSlot)),
    );
    const split = splitOf(status);
    const splitKey = split.map((p) => `${p.releaseId ?? ''}:${p.weight}`).join();
    // Made again only when it changed: a status push (instance health) must not replace the bar under a reader.
    const drawnSplit = `${splitKey}|${[...this.legend.label, ...this.legend.color].join()}`;
    if (drawnSplit !== this.drawnSplit) this.drawSplit(split);
    this.drawnSplit = drawnSplit;
    if (this.splitKey !== null && splitKey !== this.splitKey) {
      // Just after the newest point seen: the point that spans the change is left out.
      this.trafficMovedAt = Math.max(this.trafficMovedAt ?? 0, (this.charts.history().at(-1)?.at ?? 0) + 1);
    }
    this.splitKey = splitKey;
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
    this.charts.setLegend(this.legend);
    this.renderObserved();
    const shown = status.operation ?? (status.recent[0] ? { ...status.recent[0], kind: status.recent[0].kind } : null);
    this.timeline.show(shown?.id ?? null, shown?.kind ?? null, shown?.startedAt ?? 0).catch((error: unknown) => {
      this.say(error);
    });
  }

  private drawSplit(split: SplitPart[]): void {
    this.parts.split.replaceChildren(
      ...split.map(({ role, releaseId, weight }) => {
        const label = releaseId ? (this.legend.label.get(releaseId) ?? '') : 'no release';
        const color = releaseId ? this.legend.color.get(releaseId) : undefined;
        return h(
          'span',
          {
            'data-role': role,
            'data-release': releaseId ?? undefined,
            'data-weight': weight,
            title: releaseId ? `${label}: ${weight}% of requests by weight` : 'no release serves',
            // flex-grow by weight from a zero basis, with the label's width as the least: a 5 % share stays readable.
            style: `flex: ${weight} 1 0; ${color ? `background: ${color};` : ''}${weight > 0 ? '' : ' display: none;'}`,
          },
          weight > 0 ? `${label} ${weight}%` : '',
        );
      }),
    );
  }

  onEvent(event: EventRecord): void {
    this.timeline.add(event);
    if (/^(deploy|rollback|switch)\.(succeeded|failed|aborted)$|^migration\./.test(event.type))
      void this.loadMigrations();
  }

  onMetrics(points: MetricsPoint[]): void {
    this.charts.push(points);
    this.renderObserved();
  }

  /** The share of requests each running release got, over a window the label names (observed-share.ts). */
  private renderObserved(): void {
    const share = observedShare(this.charts.history(), this.legend.order, this.trafficMovedAt);
    const observed = this.parts.observed;
    observed.textContent = describeObserved(share, (id) => this.legend.label.get(id) ?? id);
    observed.dataset.windowMs = String(share.windowMs);
    observed.dataset.requests = String(share.total);
    observed.dataset.shares = JSON.stringify(
      Object.fromEntries(share.releases.map((r) => [r.releaseId, Math.round(r.percent * 10) / 10])),
    );
    observed.title =
      'Counted by the proxy: the share of requests each release answered. With sticky routing a user stays on one ' +
      'release, so this matches the share of users only when users on both sides send as many requests.';
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

function releaseBox(role: string, slot: SlotStatus, legend: ReleaseLegend, showSlot: boolean): HTMLElement {
  const color = legend.color.get(slot.releaseId);
  return h(
    'div',
    {
      class: 'release',
      'data-role': role,
      'data-release': slot.releaseId,
      style: color ? `--release: ${color}` : undefined,
    },
    h('div', { class: 'role' }, showSlot ? `${role} · slot ${slot.slot}` : role),
    h('div', { class: 'version' }, h('span', { class: 'swatch', 'aria-hidden': 'true' }), slot.version),
    h('small', {}, `${slot.releaseId} · `, h('span', { 'data-field': 'healthy' }, `${slot.running} healthy`)),
    h(
      'div',
      { class: 'instances' },
      ...slot.instances.map((i) =>
        h(
          'span',
          {
            class: 'instance',
            'data-health': i.health,
            'data-node': i.node ?? undefined,
            title: `port ${i.port}${i.node ? ` on node ${i.node}` : ''}, ${i.restarts} restart(s)`,
          },
          `#${i.index} ${i.health}${i.node ? ` · ${i.node}` : ''}`,
        ),
      ),
    ),
  );
}

interface SplitPart {
  role: string;
  releaseId: string | null;
  weight: number;
}

function splitOf(status: ServiceStatus): SplitPart[] {
  if (!status.active && !status.canary) return [{ role: 'none', releaseId: null, weight: 100 }];
  const canary = status.canary?.weight ?? 0;
  const parts = [{ role: 'active', releaseId: status.active?.releaseId ?? null, weight: 100 - canary }];
  if (status.canary) parts.push({ role: 'canary', releaseId: status.canary.releaseId, weight: canary });
  return parts;
}
