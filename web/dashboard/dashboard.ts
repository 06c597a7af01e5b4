import { api, logout } from './api-client.js';
import { byId, h } from './dom.js';
import { renderFlags } from './flags-panel.js';
import { ServiceCard } from './service-card.js';
import { serviceOrder } from './service-order.js';
import type {
  DeployWave,
  EventRecord,
  FlagList,
  Hello,
  MetricsPoint,
  RouterInUse,
  ServiceStatus,
} from './wire-types.js';

/**
 * The dashboard's entry module. Everything on the page comes from one
 * Server-Sent Events stream (GET /api/v1/events/stream, authorised by the
 * session cookie): a `hello` with the whole picture, then events, status
 * changes, flag changes and a metrics point every second. The page never
 * polls and never reloads; EventSource reconnects on its own and the next
 * `hello` brings the page up to date.
 */
declare global {
  interface Window {
    __loadedAt?: number;
  }
}
// Set once per page load: a test can tell a live update from a reload.
window.__loadedAt ??= Date.now();

const cards = new Map<string, ServiceCard>();
const connection = byId('connection');
const notice = byId('notice');

const routerBadge = byId('router');

/** The router in use, next to the connection state: `router: haproxy (127.0.0.1:8080)`. */
function renderRouter(router: RouterInUse | undefined): void {
  routerBadge.hidden = router === undefined;
  if (router === undefined) return;
  routerBadge.textContent = `router: ${router.kind} (${router.listen}${router.https === undefined ? '' : `, https ${router.https}`})`;
  // On a phone the badge is cut short: the whole line on hover or long press.
  routerBadge.title = routerBadge.textContent;
}

function showError(error: unknown): void {
  notice.textContent = String((error as Error)?.message ?? error);
  notice.hidden = false;
}

function updateServices(services: ServiceStatus[]): void {
  const container = byId('services');
  for (const status of services) {
    const card = cards.get(status.service);
    if (card) card.update(status);
    else cards.set(status.service, new ServiceCard(status));
  }
  // Running operations first (service-order.ts); a card is moved only when the order changed.
  const order = serviceOrder(services).flatMap((name) => cards.get(name)?.root ?? []);
  const shown = [...container.children];
  if (order.length !== shown.length || order.some((root, i) => shown[i] !== root)) container.append(...order);
}

/** One line per service of the multi-service deploy in progress (deploy --all); hidden when none runs. */
function renderWave(wave: DeployWave | null | undefined): void {
  const section = byId('deploy-wave');
  section.hidden = !wave;
  if (!wave) {
    section.replaceChildren();
    return;
  }
  section.replaceChildren(
    h('h2', {}, `Deploy ${wave.version}: wave ${wave.wave} of ${wave.waves}`, ' ', h('small', {}, `by ${wave.actor}`)),
    h(
      'ul',
      { class: 'wave' },
      ...wave.services.map((s) =>
        h(
          'li',
          { 'data-progress': s.progress },
          `${s.service} (wave ${s.wave}): ${s.progress}${s.progress === 'waiting' ? ` — ${s.phase ?? ''}, waits for approve / promote / resume` : ''}`,
        ),
      ),
    ),
  );
}

function listen<T>(source: EventSource, name: string, handle: (data: T) => void): void {
  source.addEventListener(name, (message: MessageEvent<string>) => {
    try {
      handle(JSON.parse(message.data) as T);
    } catch (error) {
      showError(error);
    }
  });
}

function connect(): void {
  const stream = new EventSource('/api/v1/events/stream');
  stream.addEventListener('open', () => {
    connection.dataset.state = 'live';
    connection.textContent = 'live';
  });
  stream.addEventListener('error', () => {
    connection.dataset.state = 'offline';
    connection.textContent = 'reconnecting…';
    // EventSource retries a dropped connection by itself, but gives up on an answer that is not a
    // stream (401 once the session ended): ask the API, which sends the page to the login form on 401.
    if (stream.readyState === EventSource.CLOSED) {
      setTimeout(() => {
        api('GET', '/api/v1/services').then(connect, () => {
          setTimeout(connect, 2000);
        });
      }, 1000);
    }
  });
  listen<Hello>(stream, 'hello', (hello) => {
    renderRouter(hello.router);
    renderWave(hello.deploy);
    updateServices(hello.services);
    renderFlags(hello.flags, showError);
    for (const card of cards.values()) card.onMetrics(hello.metrics);
  });
  listen<ServiceStatus[]>(stream, 'services', updateServices);
  listen<DeployWave | null>(stream, 'deploy', renderWave);
  listen<EventRecord>(stream, 'event', (event) => {
    cards.get(event.service)?.onEvent(event);
  });
  listen<MetricsPoint>(stream, 'metrics', (point) => {
    for (const card of cards.values()) card.onMetrics([point]);
  });
  listen<FlagList>(stream, 'flags', (flags) => {
    renderFlags(flags, showError);
  });
}

connect();
byId('logout').addEventListener('click', () => {
  void logout();
});
