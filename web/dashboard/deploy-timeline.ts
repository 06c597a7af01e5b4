import { api } from './api-client.js';
import { formatDuration, h } from './dom.js';
import type { EventRecord } from './wire-types.js';

/**
 * The running (or last) operation of a service as a list of its steps, as
 * recorded: started, instances healthy, switched or weight changed, analysis
 * results, promoted, aborted. Loaded once from GET /api/v1/operations/:id,
 * then extended by the events the stream pushes.
 */
const KEEP_EVENTS = 200;

export function eventKind(type: string): string {
  if (type.endsWith('.started')) return 'started';
  if (type === 'release.healthy') return 'healthy';
  if (type === 'traffic.switched' || type === 'canary.weight') return 'switched';
  if (type.startsWith('analysis.')) return 'analysis';
  if (type.endsWith('.promoted')) return 'promoted';
  if (type.endsWith('.succeeded')) return 'succeeded';
  if (
    type.endsWith('.aborted') ||
    type.endsWith('.failed') ||
    type.endsWith('rolled-back') ||
    type.endsWith('.crashed')
  )
    return 'aborted';
  return 'step';
}

/** Events after which the proxy splits the traffic differently (the observed split starts counting again). */
const TRAFFIC_MOVED =
  /^(canary\.weight|canary\.rolled-back|traffic\.(switched|stopped)|deploy\.rolled-back|rolling\.(share|rolled-back))$/;

export class DeployTimeline {
  /** "deploy op-…": the operation's kind once, then its id (not upper-cased: ids are case-sensitive). */
  readonly heading = h('h3', { 'data-field': 'operation' });
  readonly list = h('ol', { class: 'timeline', 'data-field': 'timeline' });
  private operationId: string | null = null;
  private startedAt = 0;
  private events: EventRecord[] = [];

  /** `onTrafficMoved` gets the server time of each event after which the traffic split changed. */
  constructor(private readonly onTrafficMoved: (at: number) => void = () => {}) {
    this.setHeading(null, null);
  }

  /** Shows the given operation, loading its events when it is another one than shown. */
  async show(operationId: string | null, kind: string | null, startedAt: number): Promise<void> {
    if (operationId === this.operationId) return;
    this.operationId = operationId;
    this.startedAt = startedAt;
    this.events = [];
    this.render();
    this.setHeading(operationId, kind);
    if (!operationId) return;
    const answer = await api<{ events: EventRecord[] }>('GET', `/api/v1/operations/${encodeURIComponent(operationId)}`);
    // Events the stream delivered while this was loading are kept: merge by sequence number.
    if (operationId === this.operationId) this.merge(answer.events);
  }

  /** An event from the stream: added when it belongs to the operation shown. */
  add(event: EventRecord): void {
    if (event.operationId !== null && event.operationId === this.operationId) this.merge([event]);
  }

  private merge(events: EventRecord[]): void {
    const known = new Set(this.events.map((e) => e.seq));
    const fresh = events.filter((e) => !known.has(e.seq));
    if (fresh.length === 0) return;
    for (const event of fresh) if (TRAFFIC_MOVED.test(event.type)) this.onTrafficMoved(event.at);
    this.events = [...this.events, ...fresh].sort((a, b) => a.seq - b.seq).slice(-KEEP_EVENTS);
    this.render();
  }

  private setHeading(operationId: string | null, kind: string | null): void {
    if (!operationId) this.heading.replaceChildren('Operation ', h('span', { class: 'operation-id' }, 'none yet'));
    else this.heading.replaceChildren(kind ?? 'operation', ' ', h('span', { class: 'operation-id' }, operationId));
  }

  private render(): void {
    this.list.replaceChildren(
      ...this.events.map((event) => {
        const offset = Math.max(0, event.at - this.startedAt);
        const level = /(failed|aborted|crashed|rolled-back|unhealthy|impossible)/.test(event.type) ? 'error' : 'info';
        return h(
          'li',
          { 'data-type': event.type, 'data-kind': eventKind(event.type), 'data-level': level },
          h('span', { class: 'at' }, `+${formatDuration(offset)}`),
          h('span', { class: 'type' }, event.type),
          h('span', { class: 'message-text' }, event.message),
        );
      }),
    );
    this.list.scrollTop = this.list.scrollHeight;
  }
}
