import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Controller } from '../controller/controller.js';
import { SecretRedactor } from '../config/secret-redactor.js';
import { routerInUse } from '../config/router-in-use.js';
import { CutoverError } from '../core/errors.js';
import { FailedAuthThrottle } from '../core/failed-auth-throttle.js';
import { TOKENS_ONLY, type AdminMount } from '../http/admin-access.js';
import { ADMIN_API_HEADER, ADMIN_API_HEADER_VALUE } from '../http/admin-api-header.js';
import { tokenMatches, tooManyFailures } from '../http/admin-token.js';
import { booleanParameter, wholeNumberParameter } from '../http/query-parameters.js';
import { registerDatabaseRoutes } from './database-routes.js';
import { registerFlagRoutes, sdkTokenRefused } from '../flags/flag-routes.js';
import { registerFlagChangeRoutes } from '../flags/flag-change-routes.js';
import type { FlagApprovals } from '../flags/flag-approvals.js';
import type { FlagHygiene } from '../flags/flag-hygiene.js';
import type { FlagScheduler } from '../flags/flag-scheduler.js';
import type { FlagRolloutRunner } from '../flags/flag-rollout-runner.js';
import type { FlagService } from '../flags/flag-service.js';
import type { ClientTokens } from '../flags/client-tokens.js';
import { registerClientTokenRoutes } from '../flags/client-token-routes.js';
import { registerOfrepRoutes } from '../flags/ofrep-routes.js';
import { sendReleaseLogs } from './logs-route.js';
import type { LogClock } from '../runtime/process/log-clock.js';
import { registerSeedsFlagRoutes } from '../flags/seeds-flag-routes.js';
import { buildMetricsRegistry } from './prometheus-metrics.js';
import { assertValidVersion } from '../core/version-grammar.js';
import { registerCertificateRoutes, type CertificateControl } from './certs-routes.js';
import { registerConfigRoutes, type ConfigControl } from './config-routes.js';
import {
  actorBody,
  deployBody,
  deployWaveBody,
  maintenanceBody,
  promoteBody,
  rollbackBody,
  switchBody,
} from './request-schemas.js';

/**
 * The admin API: JSON under /api/v1, every route behind the bearer token.
 * Errors always have the shape { error: { code, message, hint } }.
 * Write operations answer 202 with the operation; clients follow it at
 * GET /api/v1/operations/:id?after=<event seq>.
 */
export interface AdminApiOptions {
  controller: Controller;
  token: string;
  /** May use only the SDK routes (/api/v1/sdk/...). */
  sdkToken: string;
  logDir: string;
  /** Dates the instance logs' lines so `cutover logs` merges instances by time; without it, dated at each request. */
  logClock?: LogClock;
  flags: FlagService;
  flagRollouts: FlagRolloutRunner;
  /** Scheduled changes, approvals and stale flags (docs/flags.md, "Flag hygiene"). */
  flagScheduler: FlagScheduler;
  flagApprovals: FlagApprovals;
  flagHygiene: FlagHygiene;
  /** Client-side tokens: they may only evaluate client-visible flags over OFREP (/ofrep/...). */
  clientTokens: ClientTokens;
  /** Takes secret values out of every answer (JSON, /metrics, errors) and the dashboard stream. */
  redactor?: SecretRedactor;
  /** What else the admin address serves with its own credential: the dashboard, plugged in by the composition root. */
  mount?: AdminMount;
  /** `cutover down`: stops every instance and the proxy, then the server. Absent where nothing may stop the server. */
  down?: () => void;
  /** `cutover reload` and the running file's digest; absent where the config was not read from a file. */
  config?: ConfigControl;
  /** `cutover certs list|renew`; absent where the server holds no certificates (tests of other parts). */
  certificates?: CertificateControl;
}

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    const reasons = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
    throw new CutoverError('BAD_REQUEST', `invalid request body: ${reasons.join('; ')}`, {
      details: result.error.issues,
    });
  }
  return result.data;
}

function sendError(reply: FastifyReply, error: CutoverError): FastifyReply {
  return reply.code(error.status).send({ error: error.toJSON() });
}

export async function buildAdminApi(options: AdminApiOptions): Promise<FastifyInstance> {
  const { controller, token, sdkToken, logDir } = options;
  // The proxy's client limits (server.client_timeouts, server.max_connections) hold here too: a client sending its
  // head a byte at a time held an admin socket for Node's 60 s + 30 s check, and any number of them.
  const { clientTimeouts, maxConnections } = controller.config.server;
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    http: {
      headersTimeout: clientTimeouts.headersMs,
      connectionsCheckingInterval: Math.min(1_000, clientTimeouts.headersMs),
    },
    // Receiving the request, not answering it: the event and log streams stay open as long as their clients.
    requestTimeout: clientTimeouts.requestMs === 0 ? 0 : Math.max(clientTimeouts.requestMs, clientTimeouts.headersMs),
  });
  app.server.maxConnections = maxConnections;
  // First of all hooks, so every answer has it (errors, 401s, 404s, the dashboard): the CLI checks it (admin-api-header.ts).
  // On the raw response, so the streams that write their own head (logs, SSE) carry it too.
  app.addHook('onRequest', async (_request, reply) => {
    reply.raw.setHeader(ADMIN_API_HEADER, ADMIN_API_HEADER_VALUE);
  });

  // The web dashboard (src/dashboard, mounted by server/start-server.ts): its page and login are public,
  // and its session cookie is accepted for /api/v1 (writes also need the CSRF header).
  // One budget of failed attempts per client address, shared by bearer tokens and dashboard logins.
  const throttle = new FailedAuthThrottle();
  const redactor = options.redactor ?? SecretRedactor.none();
  const access = options.mount?.(app, { throttle, redactor }) ?? TOKENS_ONLY;

  // The last step before bytes leave: whatever a route or an error put in the answer, no known secret goes out.
  app.addHook('onSend', async (_request, _reply, payload) => {
    if (typeof payload === 'string') return redactor.redactText(payload);
    if (Buffer.isBuffer(payload)) return redactor.redactText(payload.toString('utf8'));
    return payload;
  });

  app.addHook('onRequest', async (request, reply) => {
    // OFREP authenticates in its own scope (ofrep-routes.ts): it takes X-API-Key too, and answers CORS preflights.
    // Decided by the route that matched, not the raw URL, so no spelling of a path can skip this check.
    const ofrep = request.routeOptions.url?.startsWith('/ofrep/') === true;
    if (request.url === '/healthz' || ofrep || access.isPublic(request.url)) return;
    const header = request.headers.authorization;
    if (header !== undefined) {
      const retryAfter = throttle.retryAfterSeconds(request.ip);
      if (retryAfter > 0) {
        await sendError(reply.header('retry-after', String(retryAfter)), tooManyFailures(request.ip, retryAfter));
        return;
      }
      if (tokenMatches(token, header)) return;
      if (tokenMatches(sdkToken, header)) {
        if (!request.url.startsWith('/api/v1/sdk/')) await sendError(reply, sdkTokenRefused(request.url));
        return;
      }
      // A client-side token is genuine but may only evaluate over OFREP: no flag, rule or segment here.
      if (header.startsWith('Bearer ') && options.clientTokens.verify(header.slice('Bearer '.length).trim())) {
        await sendError(reply, sdkTokenRefused(request.url));
        return;
      }
      // Only a credential that was sent and is wrong counts: a browser without a session is no guess.
      throttle.recordFailure(request.ip);
    }
    const verdict = access.check(request);
    if (verdict === 'session') return;
    await sendError(
      reply,
      verdict === 'none' ? new CutoverError('UNAUTHORIZED', 'missing or wrong bearer token') : verdict,
    );
  });

  app.setErrorHandler((error: FastifyError | CutoverError, request, reply) => {
    if (error instanceof CutoverError) return sendError(reply, withServiceNamed(error, request));
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const code = status === 404 ? 'NOT_FOUND' : status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
      return reply.code(status).send({ error: new CutoverError(code, error.message).toJSON() });
    }
    app.log.error(error);
    return sendError(reply, new CutoverError('INTERNAL', error.message));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new CutoverError('NOT_FOUND', `no route ${request.method} ${request.url}`)),
  );

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/api/v1/services', async () => ({
    router: routerInUse(controller.config.server),
    services: controller.statusAll(),
    deploy: controller.waves.current(),
  }));
  app.get('/api/v1/deploys/current', async () => ({ deploy: controller.waves.current() }));
  app.post('/api/v1/deploys', async (request, reply) => {
    const body = parseBody(deployWaveBody, request.body);
    assertValidVersion(body.version);
    return reply.code(202).send({ operation: controller.waves.start({ ...body, actor: body.actor ?? 'api' }) });
  });
  app.get<{ Params: { name: string } }>(
    '/api/v1/services/:name',
    async (request) =>
      controller.router.refreshCounters?.().then(() => controller.status(request.params.name)) ??
      controller.status(request.params.name),
  );
  app.get<{ Params: { name: string } }>('/api/v1/services/:name/history', async (request) =>
    controller.history(request.params.name),
  );

  app.post<{ Params: { name: string } }>('/api/v1/services/:name/deploy', async (request, reply) => {
    const body = parseBody(deployBody, request.body);
    assertValidVersion(body.version);
    const operation = await controller.deploy(request.params.name, { ...body, actor: body.actor ?? 'api' });
    return reply.code(202).send({ operation });
  });
  app.post<{ Params: { name: string } }>('/api/v1/services/:name/switch', async (request, reply) => {
    const body = parseBody(switchBody, request.body);
    return reply.code(202).send({
      operation: await controller.switchTo(request.params.name, body.slot, body.actor ?? 'api', {
        force: body.force,
        reason: body.reason,
      }),
    });
  });
  // Commands on the operation in flight answer with `eventsAfter`: the last event before the command, so a
  // client follows from there instead of replaying the whole history.
  const eventsBefore = (name: string): number => {
    const held = controller.store.getLock(name);
    return held ? (controller.store.eventsOf(held.operationId).at(-1)?.seq ?? 0) : 0;
  };
  const inFlight = async (name: string, act: () => Promise<unknown>) => {
    const eventsAfter = eventsBefore(name);
    return { operation: await act(), eventsAfter };
  };
  app.post<{ Params: { name: string } }>('/api/v1/services/:name/promote', async (request, reply) => {
    const body = parseBody(promoteBody, request.body);
    const name = request.params.name;
    return reply
      .code(202)
      .send(await inFlight(name, () => controller.promote(name, body.actor ?? 'api', body.full ?? false)));
  });
  app.post<{ Params: { name: string } }>('/api/v1/services/:name/approve', async (request, reply) => {
    const body = parseBody(actorBody, request.body);
    const name = request.params.name;
    return reply.code(202).send(await inFlight(name, () => controller.approve(name, body.actor ?? 'api')));
  });
  app.post<{ Params: { name: string } }>('/api/v1/services/:name/retry', async (request, reply) => {
    const body = parseBody(actorBody, request.body);
    return reply.code(202).send({ operation: await controller.retry(request.params.name, body.actor ?? 'api') });
  });
  for (const verb of ['pause', 'resume', 'abort', 'finish'] as const) {
    app.post<{ Params: { name: string } }>(`/api/v1/services/:name/${verb}`, async (request, reply) => {
      const body = parseBody(actorBody, request.body);
      const name = request.params.name;
      return reply.code(202).send(await inFlight(name, () => controller[verb](name, body.actor ?? 'api')));
    });
  }
  app.post<{ Params: { name: string } }>('/api/v1/services/:name/rollback', async (request, reply) => {
    const body = parseBody(rollbackBody, request.body);
    return reply.code(202).send({
      operation: await controller.rollback(request.params.name, {
        to: body.to,
        actor: body.actor ?? 'api',
        force: body.force,
        reason: body.reason,
      }),
    });
  });
  app.post<{ Params: { name: string } }>('/api/v1/services/:name/cleanup', async (request, reply) => {
    const body = parseBody(actorBody, request.body);
    return reply.code(202).send({ operation: await controller.cleanup(request.params.name, body.actor ?? 'api') });
  });
  // `cutover down <service>`: one service stops (routed to nothing, drained, its instances stopped); the others serve on.
  app.post<{ Params: { name: string } }>('/api/v1/services/:name/down', async (request, reply) => {
    const body = parseBody(actorBody, request.body);
    return reply.code(202).send({ operation: await controller.down(request.params.name, body.actor ?? 'api') });
  });

  // No operation: maintenance is a switch of the route, done when the answer comes (200, not 202).
  app.post<{ Params: { name: string } }>('/api/v1/services/:name/maintenance', async (request) => {
    const body = parseBody(maintenanceBody, request.body);
    return controller.maintenance(request.params.name, {
      on: body.on,
      actor: body.actor ?? 'api',
      message: body.message,
      retryAfterSec: body.retryAfter,
      allow: body.allow,
    });
  });

  app.get<{ Params: { id: string }; Querystring: { after?: string } }>('/api/v1/operations/:id', async (request) => {
    const operation = controller.store.getOperation(request.params.id);
    if (!operation) throw new CutoverError('OPERATION_NOT_FOUND', `no operation ${request.params.id}`);
    const after = wholeNumberParameter(request.query, 'after', { min: 0, fallback: 0 });
    return { operation, events: controller.store.eventsOf(operation.id, after) };
  });

  app.get<{
    Params: { name: string };
    Querystring: { release?: string; lines?: string; follow?: string; format?: string };
  }>('/api/v1/services/:name/logs', async (request, reply) => {
    const name = request.params.name;
    controller.service(name);
    const releaseId = request.query.release ?? controller.activeRelease(name)?.id;
    if (!releaseId) throw new CutoverError('RELEASE_NOT_FOUND', `${name} has no active release; pass --release`);
    const release =
      controller.store.getRelease(releaseId) ??
      controller.store.listReleases(name).find((r) => String(r.seq) === releaseId || r.version === releaseId);
    if (!release || release.service !== name)
      throw new CutoverError('RELEASE_NOT_FOUND', `no release '${releaseId}' of ${name}`);
    const lines = wholeNumberParameter(request.query, 'lines', { min: 1, max: 10_000, fallback: 100 });
    const follow = booleanParameter(request.query, 'follow');
    if (request.query.format !== undefined && request.query.format !== 'text' && request.query.format !== 'json') {
      throw new CutoverError('BAD_REQUEST', `format must be text or json, got ${JSON.stringify(request.query.format)}`);
    }
    reply.hijack();
    const source = { service: name, releaseId: release.id, version: release.version, slot: release.slot };
    await sendReleaseLogs(
      reply,
      logDir,
      source,
      lines,
      follow,
      request.query.format === 'json',
      options.logClock,
      (text) => redactor.redactText(text),
    );
  });

  registerDatabaseRoutes(app, controller, parseBody);
  if (options.config) registerConfigRoutes(app, options.config, parseBody);
  if (options.certificates) registerCertificateRoutes(app, options.certificates, parseBody);
  const streams = registerFlagRoutes(app, {
    flags: options.flags,
    rollouts: options.flagRollouts,
    approvals: options.flagApprovals,
    hygiene: options.flagHygiene,
    store: controller.store,
    events: controller.events,
    parseBody,
  });
  registerFlagChangeRoutes(app, {
    flags: options.flags,
    scheduler: options.flagScheduler,
    approvals: options.flagApprovals,
    hygiene: options.flagHygiene,
    parseBody,
  });
  await registerSeedsFlagRoutes(app, { flags: options.flags, approvals: options.flagApprovals, parseBody });
  registerClientTokenRoutes(app, { clientTokens: options.clientTokens, flags: options.flags, parseBody });
  const ofrep = await registerOfrepRoutes(app, {
    flags: options.flags,
    clientTokens: options.clientTokens,
    token,
    sdkToken,
    throttle,
    allowedOrigins: controller.config.flags.client.allowedOrigins,
  });
  // SSE streams never end on their own: end them before the server waits for its connections.
  app.addHook('preClose', async () => {
    streams.closeAll();
    ofrep.close();
  });

  // The deliberate full stop: answered first, then the server stops everything and exits.
  app.post('/api/v1/down', async (_request, reply) => {
    if (options.down === undefined)
      throw new CutoverError('NOT_FOUND', 'this server cannot be stopped through its API');
    setImmediate(options.down);
    return reply.code(202).send({ stopping: true, services: Object.keys(controller.config.services) });
  });

  // `cutover proxy restart`: a new proxy generation takes the socket over; answered once it serves and is programmed.
  app.post('/api/v1/proxy/restart', async () => {
    const router = controller.router;
    if (router.handOver === undefined)
      throw new CutoverError(
        'INVALID_STATE',
        `the router is ${router.kind}: it has no proxy process of cutover's to restart`,
      );
    return { proxy: await router.handOver() };
  });

  app.get('/api/v1/router/counters', async () => {
    await controller.router.refreshCounters?.();
    return { counters: controller.router.counters() };
  });

  // Behind the token like everything else: Prometheus sends it with `authorization: { credentials_file: ... }`.
  const metrics = buildMetricsRegistry(
    controller,
    {
      environments: options.flags.environments,
      list: (environment) => options.flags.list(environment),
      allEvaluations: () => options.flags.allEvaluations(),
      droppedEvaluations: () => options.flags.droppedEvaluations(),
      openStreams: () => streams.count(),
      staleness: (environment) => options.flagHygiene.staleness(environment),
    },
    options.certificates,
  );
  app.get('/metrics', async (_request, reply) => {
    await controller.router.refreshCounters?.();
    return reply.type(metrics.contentType).send(await metrics.metrics());
  });
  return app;
}

/**
 * The catalogue's hints name a service as `<service>` ("Run `cutover status <service>`"): on a service's
 * route, the hint a person reads names the one they asked about, as a command they can run as it is.
 */
function withServiceNamed(error: CutoverError, request: FastifyRequest): CutoverError {
  const name = (request.params as { name?: unknown } | undefined)?.name;
  if (!request.routeOptions.url?.startsWith('/api/v1/services/:name') || typeof name !== 'string') return error;
  if (!error.hint.includes('<service>')) return error;
  const hint = error.hint.replaceAll('<service>', name);
  return new CutoverError(error.code, error.message, {
    hint,
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}
