import pino from 'pino';
import { ProxyRouter, type ListeningHandle, type RetireOptions } from '../proxy/proxy-router.js';
import { replyTo } from './control-protocol.js';
import { applyRouterRequest } from './router-requests.js';
import type { FromWorker, ToWorker } from './worker-messages.js';

/**
 * A proxy worker process, forked by the proxy's main process: one more
 * ProxyRouter accepting on the same listening socket, so the proxy uses
 * more than one core. It holds the routes its main process gives it and
 * carries out what it is told; it never talks to the controller itself.
 *
 * Its main process gone (crashed or killed), it stops accepting and winds
 * down: a worker nobody can program must not keep serving routes that will
 * never change again, and the next main process needs the port.
 */
const logger = pino({ base: { component: 'proxy-worker', pid: process.pid } });
/** When the main process is gone: kept-alive clients get this long to send the request they may be sending. */
const ORPHAN_RETIRE: RetireOptions = { idleGraceMs: 1_000, upgradeDrainMs: 1_000, timeoutMs: 30_000 };

let proxy: ProxyRouter | null = null;
let tlsTaken: () => void = () => {};
let tlsFailed: (error: unknown) => void = () => {};
/** Settles once the TLS listener's socket is taken (only awaited when the proxy has one). */
const tlsListener = new Promise<void>((resolve, reject) => {
  tlsTaken = resolve;
  tlsFailed = reject;
});
// Awaited only with a TLS listener: an unobserved rejection must not end a worker without one.
tlsListener.catch(() => {});
let retiring: Promise<void> | null = null;

function tell(message: FromWorker): void {
  // A callback: a channel closing under the send reports here rather than as an uncaught error.
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
}

/** Past its retire timeout, a worker exits whatever it still waits for: a generation that handed over must end. */
const RETIRE_EXIT_SLACK_MS = 10_000;

function retire(options: RetireOptions): void {
  retiring ??= (async () => {
    setTimeout(() => {
      logger.warn('proxy worker still winding down past its timeout: exiting');
      logger.flush();
      process.exit(0);
    }, options.timeoutMs + RETIRE_EXIT_SLACK_MS).unref();
    await proxy?.retire(options);
    logger.info('proxy worker retired');
    logger.flush();
    if (proxy === null || !process.connected) process.exit(0);
    // What it served while winding down counts too: the main process adds it before it exits itself.
    process.send?.({ type: 'final-counters', counters: proxy.counters() } satisfies FromWorker, () => process.exit(0));
  })();
}

function start(message: Extract<ToWorker, { type: 'start' }>, listener: ListeningHandle | undefined): void {
  if (proxy !== null || listener === undefined) return;
  proxy = ProxyRouter.prepare({
    ...message.listen,
    logger,
    onInstanceEjection: (data) => tell({ type: 'ejection', data }),
  });
  for (const id of message.unhealthy) proxy.setUpstreamHealthy(id, false);
  // The routes are in place before the first connection is accepted; setRoute switches within the call.
  for (const route of message.routes) void proxy.setRoute(route);
  // Within this message's handler, before the event loop polls the received socket: no connection is missed.
  // With a TLS listener, ready waits for its socket too (it comes in the next message).
  const tls = message.listen.https === undefined ? Promise.resolve() : tlsListener;
  Promise.all([proxy.takeListener(listener), tls]).then(
    () => tell({ type: 'ready' }),
    (error: unknown) => {
      logger.error({ err: error }, 'proxy worker could not accept on the listening socket');
      process.exit(1);
    },
  );
}

process.on('message', (message: ToWorker, handle: unknown) => {
  switch (message.type) {
    case 'start':
      start(message, handle as ListeningHandle | undefined);
      return;
    case 'tls-listener':
      if (proxy !== null && handle !== undefined)
        proxy.takeTlsListener(handle as ListeningHandle).then(tlsTaken, tlsFailed);
      return;
    case 'request': {
      const request = message.request;
      if (proxy === null) return;
      const own = proxy;
      void replyTo(request.id, () => applyRouterRequest(own, request)).then((reply) => tell({ type: 'reply', reply }));
      return;
    }
    case 'retire':
      retire(message.options);
      return;
    case 'stop':
      void (proxy?.close() ?? Promise.resolve()).then(() => process.exit(0));
      return;
  }
});

process.on('disconnect', () => {
  logger.warn('the proxy main process is gone: this worker stops accepting and winds down');
  retire(ORPHAN_RETIRE);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => retire(ORPHAN_RETIRE));
process.on('SIGHUP', () => {});
process.on('uncaughtException', (error) => {
  logger.fatal({ err: error }, 'proxy worker failed; the main process starts a new one');
  logger.flush();
  process.exit(1);
});
