import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { forSdk, type FlagChange, type FlagService } from './flag-service.js';
import { eventMessage, openEventStream } from '../http/server-sent-events.js';

/**
 * GET /api/v1/sdk/stream: Server-Sent Events carrying an environment's flag
 * set to the SDKs. The first event is the whole set (`snapshot`), then one
 * event per change (`flag`, `segments`), each with the environment's
 * revision as its id. The snapshot and the subscription are taken in the
 * same turn of the event loop, and writes announce synchronously after
 * their transaction, so no change can fall between the two.
 */
const HEARTBEAT_MS = 15_000;
/** How long a disconnected client waits before reconnecting (EventSource's `retry`). */
const RETRY_MS = 1_000;

export interface FlagStreams {
  /** Open streams, for /metrics and tests. */
  count(): number;
  /** Ends every stream (server shutdown), so closing the HTTP server does not wait for them. */
  closeAll(): void;
}

export function openFlagStream(
  app: FastifyInstance,
  flags: FlagService,
  env: (query: { environment?: string }) => string,
): FlagStreams {
  const open = new Set<ServerResponse>();

  app.get<{ Querystring: { environment?: string } }>('/api/v1/sdk/stream', async (request, reply) => {
    const environment = env(request.query);
    reply.hijack();
    const response = reply.raw;
    openEventStream(response, RETRY_MS);
    open.add(response);
    const snapshot = flags.snapshot(environment);
    response.write(eventMessage('snapshot', snapshot, snapshot.revision));
    const unsubscribe = flags.subscribe((change: FlagChange) => {
      if (change.environment !== environment) return;
      const data =
        change.type === 'flag'
          ? { revision: change.revision, key: change.key, flag: change.flag && forSdk(change.flag) }
          : { revision: change.revision, segments: change.segments };
      response.write(eventMessage(change.type, data, change.revision));
    });
    const heartbeat = setInterval(() => {
      response.write(': ping\n\n');
    }, HEARTBEAT_MS);
    heartbeat.unref();
    const cleanup = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(response);
    };
    response.on('close', cleanup);
    response.on('error', cleanup);
  });

  return {
    count: () => open.size,
    closeAll: () => {
      for (const response of open) response.end();
      open.clear();
    },
  };
}
