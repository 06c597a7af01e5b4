import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { CutoverError } from '../core/errors.js';
import { wholeNumberParameter } from '../http/query-parameters.js';
import type { EventLog } from '../controller/event-log.js';
import type { FlagApprovals } from './flag-approvals.js';
import type { FlagHygiene } from './flag-hygiene.js';
import type { FlagRolloutRunner } from './flag-rollout-runner.js';
import type { FlagService } from './flag-service.js';
import type { EventRecord } from '../store/records.js';
import {
  createFlagBody,
  deleteFlagBody,
  evaluateAllBody,
  evaluateBody,
  evaluationReportBody,
  patchFlagBody,
  replaceFlagBody,
  segmentBody,
  startRolloutBody,
} from './flag-request-schemas.js';
import { openFlagStream, type FlagStreams } from './flag-stream.js';

/**
 * The flag routes (docs/flags.md): admin routes under /api/v1/flags,
 * /api/v1/segments and /api/v1/flag-rollouts; the SDK routes under
 * /api/v1/sdk (the only ones the SDK token may use). Every route takes
 * `?environment=`. The seeds' /admin/feature-flags/ is in seeds-flag-routes.ts.
 */
export interface FlagRouteDeps {
  flags: FlagService;
  rollouts: FlagRolloutRunner;
  /** `flags.require_approval`: a write to those environments is stored pending (answered 202 with it). */
  approvals: FlagApprovals;
  /** The `stale` field of each listed flag. */
  hygiene: FlagHygiene;
  /** Where a rollout's events are read back from: the deploy state's event log. */
  store: { eventsOf(operationId: string, afterSeq?: number): EventRecord[] };
  events: EventLog;
  parseBody: <T extends z.ZodType>(schema: T, body: unknown) => z.infer<T>;
}

interface EnvQuery {
  Querystring: { environment?: string };
}
interface KeyRoute {
  Params: { key: string };
  Querystring: { environment?: string; limit?: string };
}

export function registerFlagRoutes(app: FastifyInstance, deps: FlagRouteDeps): FlagStreams {
  const { flags, rollouts, approvals, parseBody } = deps;
  const env = (query: { environment?: string }): string => flags.environment(query.environment);

  app.get<EnvQuery>('/api/v1/flags', async (request) => {
    const { environment, revision, flags: entries } = flags.list(env(request.query));
    const stale = deps.hygiene.staleness(environment);
    return {
      environment,
      revision,
      flags: entries.map((entry) => ({ ...entry, stale: stale.get(entry.flag.key) ?? [] })),
    };
  });

  app.post<EnvQuery>('/api/v1/flags', async (request, reply) => {
    const environment = env(request.query);
    const body = parseBody(createFlagBody, request.body);
    if (approvals.requires(environment)) {
      const key = isMap(body.flag) && typeof body.flag.key === 'string' ? body.flag.key : '';
      const pending = approvals.propose(environment, key, { type: 'create', flag: body.flag }, propose(body));
      return reply.code(202).send({ pending });
    }
    const stored = flags.create(environment, body.flag, { actor: body.actor ?? 'api', reason: body.reason });
    return reply.code(201).send(stored);
  });

  app.post<EnvQuery>('/api/v1/flags/evaluate', async (request) => {
    const body = parseBody(evaluateAllBody, request.body);
    return { results: flags.evaluateAll(env(request.query), body.context) };
  });

  app.get<KeyRoute>('/api/v1/flags/:key', async (request) => {
    const environment = env(request.query);
    const stored = flags.get(environment, request.params.key);
    return {
      ...stored,
      evaluations: flags.evaluations(environment, request.params.key),
      activeRollout: rollouts.activeFor(environment, request.params.key),
    };
  });

  app.put<KeyRoute>('/api/v1/flags/:key', async (request, reply) => {
    const body = parseBody(replaceFlagBody, request.body);
    const environment = env(request.query);
    if (approvals.requires(environment)) {
      const operation = { type: 'replace' as const, flag: body.flag, ifVersion: body.ifVersion };
      return reply
        .code(202)
        .send({ pending: approvals.propose(environment, request.params.key, operation, propose(body)) });
    }
    return flags.replace(environment, request.params.key, body.flag, {
      actor: body.actor ?? 'api',
      reason: body.reason,
      ifVersion: body.ifVersion,
    });
  });

  app.patch<KeyRoute>('/api/v1/flags/:key', async (request, reply) => {
    const body = parseBody(patchFlagBody, request.body);
    const environment = env(request.query);
    if (approvals.requires(environment)) {
      const operation = { type: 'patch' as const, patch: body.patch, ifVersion: body.ifVersion };
      return reply
        .code(202)
        .send({ pending: approvals.propose(environment, request.params.key, operation, propose(body)) });
    }
    return flags.patch(environment, request.params.key, body.patch, {
      actor: body.actor ?? 'api',
      reason: body.reason,
      ifVersion: body.ifVersion,
    });
  });

  app.delete<KeyRoute>('/api/v1/flags/:key', async (request, reply) => {
    const body = parseBody(deleteFlagBody, request.body);
    const environment = env(request.query);
    if (approvals.requires(environment)) {
      const operation = { type: 'delete' as const, ifVersion: body.ifVersion };
      return reply
        .code(202)
        .send({ pending: approvals.propose(environment, request.params.key, operation, propose(body)) });
    }
    return flags.remove(environment, request.params.key, {
      actor: body.actor ?? 'api',
      reason: body.reason,
      ifVersion: body.ifVersion,
    });
  });

  app.get<KeyRoute>('/api/v1/flags/:key/history', async (request) => {
    const environment = env(request.query);
    const limit = wholeNumberParameter(request.query, 'limit', { min: 1, max: 1000, fallback: 50 });
    // A deleted flag still has a history: look it up without requiring the flag.
    const entries = flags.history(environment, request.params.key, limit);
    if (entries.length === 0) flags.get(environment, request.params.key);
    return { environment, key: request.params.key, entries };
  });

  app.post<KeyRoute>('/api/v1/flags/:key/evaluate', async (request) => {
    const body = parseBody(evaluateBody, request.body);
    return flags.evaluate(env(request.query), request.params.key, body.context, body.expectedType);
  });

  // --- progressive rollouts ---------------------------------------------------

  app.post<KeyRoute>('/api/v1/flags/:key/rollouts', async (request, reply) => {
    const body = parseBody(startRolloutBody, request.body);
    const environment = env(request.query);
    const start = {
      steps: body.steps,
      pauseMs: body.pause,
      analysis: body.analysis,
      ...(body.service === undefined ? {} : { service: body.service }),
      ...(body.variant === undefined ? {} : { variant: body.variant }),
    };
    if (approvals.requires(environment)) {
      const operation = { type: 'rollout' as const, rollout: start };
      return reply
        .code(202)
        .send({ pending: approvals.propose(environment, request.params.key, operation, propose(body)) });
    }
    const rollout = rollouts.start(environment, request.params.key, { ...start, actor: body.actor ?? 'api' });
    return reply.code(202).send({ rollout });
  });

  app.get<{ Params: { id: string }; Querystring: { after?: string } }>('/api/v1/flag-rollouts/:id', async (request) => {
    const rollout = rollouts.get(request.params.id);
    const after = wholeNumberParameter(request.query, 'after', { min: 0, fallback: 0 });
    return { rollout, events: deps.store.eventsOf(rollout.id, after) };
  });

  app.post<{ Params: { id: string }; Body: { actor?: string } }>('/api/v1/flag-rollouts/:id/abort', async (request) => {
    const actor = typeof request.body?.actor === 'string' && request.body.actor !== '' ? request.body.actor : 'api';
    return { rollout: await rollouts.abort(request.params.id, actor) };
  });

  // --- segments -------------------------------------------------------------------

  app.get<EnvQuery>('/api/v1/segments', async (request) => {
    const environment = env(request.query);
    return { environment, segments: flags.segments(environment) };
  });

  app.put<{ Params: { name: string }; Querystring: { environment?: string } }>(
    '/api/v1/segments/:name',
    async (request) => {
      const body = parseBody(segmentBody, request.body);
      const segments = flags.putSegment(env(request.query), request.params.name, body.constraints);
      return { name: request.params.name, constraints: segments[request.params.name] };
    },
  );

  app.delete<{ Params: { name: string }; Querystring: { environment?: string } }>(
    '/api/v1/segments/:name',
    async (request) => {
      flags.deleteSegment(env(request.query), request.params.name);
      return { deleted: request.params.name };
    },
  );

  // --- SDK routes (the SDK token may use these, and only these) -----------------

  app.get<EnvQuery>('/api/v1/sdk/flags', async (request) => flags.snapshot(env(request.query)));

  app.post<EnvQuery>('/api/v1/sdk/evaluations', async (request, reply) => {
    const environment = env(request.query);
    const body = parseBody(evaluationReportBody, request.body);
    return reply.code(202).send(flags.recordEvaluations(environment, body.counts));
  });

  const streams = openFlagStream(app, flags, env);

  return streams;
}

function propose(body: { actor?: string; reason?: string }): { actor: string; reason: string | null } {
  return { actor: body.actor ?? 'api', reason: body.reason ?? null };
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Thrown by the auth hook for an SDK or client-side token on an admin route. */
export function sdkTokenRefused(url: string): CutoverError {
  return new CutoverError('FORBIDDEN', `this token may not use ${url.split('?')[0]}`);
}
