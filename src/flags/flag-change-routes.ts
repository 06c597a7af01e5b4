import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { FlagApprovals } from './flag-approvals.js';
import type { FlagHygiene } from './flag-hygiene.js';
import type { FlagScheduler } from './flag-scheduler.js';
import type { FlagService } from './flag-service.js';
import { cancelScheduleBody, decisionBody, scheduleBody } from './flag-request-schemas.js';

/**
 * Flag hygiene and change control on the admin API (docs/flags.md): stale
 * flags, scheduled changes and the changes waiting for an approval. A list
 * without `?environment=` covers every environment; `?all=true` adds what
 * has ended (applied, cancelled, approved, rejected).
 */
export interface FlagChangeRouteDeps {
  flags: FlagService;
  scheduler: FlagScheduler;
  approvals: FlagApprovals;
  hygiene: FlagHygiene;
  parseBody: <T extends z.ZodType>(schema: T, body: unknown) => z.infer<T>;
}

interface ListQuery {
  Querystring: { environment?: string; all?: string };
}
interface IdRoute {
  Params: { id: string };
}

export function registerFlagChangeRoutes(app: FastifyInstance, deps: FlagChangeRouteDeps): void {
  const { flags, scheduler, approvals, hygiene, parseBody } = deps;
  const envOrAll = (query: { environment?: string }): string | null =>
    query.environment === undefined || query.environment === '' ? null : flags.environment(query.environment);

  app.get<{ Querystring: { environment?: string } }>('/api/v1/stale-flags', async (request) => {
    const environment = flags.environment(request.query.environment);
    return { environment, staleAfterMs: hygiene.staleAfterMs, flags: hygiene.stale(environment) };
  });

  app.post<{ Params: { key: string }; Querystring: { environment?: string } }>(
    '/api/v1/flags/:key/schedules',
    async (request, reply) => {
      const environment = flags.environment(request.query.environment);
      const body = parseBody(scheduleBody, request.body);
      const actor = body.actor ?? 'api';
      if (approvals.requires(environment)) {
        const pending = approvals.propose(
          environment,
          request.params.key,
          { type: 'schedule', at: body.at, action: body.action },
          { actor },
        );
        return reply.code(202).send({ pending });
      }
      const schedule = scheduler.create(environment, request.params.key, { at: body.at, action: body.action, actor });
      return reply.code(201).send({ schedule });
    },
  );

  app.get<ListQuery>('/api/v1/flag-schedules', async (request) => ({
    schedules: scheduler.list(envOrAll(request.query), request.query.all === 'true'),
  }));

  app.get<IdRoute>('/api/v1/flag-schedules/:id', async (request) => ({ schedule: scheduler.get(request.params.id) }));

  app.delete<IdRoute>('/api/v1/flag-schedules/:id', async (request) => {
    const body = parseBody(cancelScheduleBody, request.body ?? {});
    return { schedule: scheduler.cancel(request.params.id, body.actor ?? 'api') };
  });

  app.get<ListQuery>('/api/v1/flag-changes', async (request) => ({
    changes: approvals.list(envOrAll(request.query), request.query.all === 'true'),
  }));

  app.get<IdRoute>('/api/v1/flag-changes/:id', async (request) => ({ change: approvals.get(request.params.id) }));

  app.post<IdRoute>('/api/v1/flag-changes/:id/approve', async (request) => {
    const body = parseBody(decisionBody, request.body ?? {});
    return { change: approvals.approve(request.params.id, body.actor ?? 'api') };
  });

  app.post<IdRoute>('/api/v1/flag-changes/:id/reject', async (request) => {
    const body = parseBody(decisionBody, request.body ?? {});
    return { change: approvals.reject(request.params.id, body.actor ?? 'api', body.reason ?? null) };
  });
}
