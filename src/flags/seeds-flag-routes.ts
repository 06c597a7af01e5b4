import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { CutoverError } from '../core/errors.js';
import type { FlagApprovals } from './flag-approvals.js';
import type { FlagService } from './flag-service.js';
import { seedsFlag, seedsFlagBody, toSeedsShape } from './seeds-compat.js';

/**
 * The seeds' `POST /admin/feature-flags/` (and its GET), kept so that teams
 * can keep their scripts. The runbook sends the JSON with `curl -d`, which
 * labels it `application/x-www-form-urlencoded`; refusing that with 415
 * would break the very script the compatibility endpoint exists for. So in
 * this plugin only (fastify encapsulates content-type parsers per plugin),
 * every body is read as JSON whatever its Content-Type says. The rest of
 * the API keeps fastify's strict parsing.
 */
const SEEDS_BODY_LIMIT = 64 * 1024;

interface SeedsDeps {
  flags: FlagService;
  /** In an environment with `flags.require_approval`, the change is proposed (202 `{ pending }`), as on /api/v1/flags. */
  approvals: FlagApprovals;
  parseBody: <T extends z.ZodType>(schema: T, body: unknown) => z.infer<T>;
}

export async function registerSeedsFlagRoutes(app: FastifyInstance, deps: SeedsDeps): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: SEEDS_BODY_LIMIT }, (_request, text, done) => {
      const body = String(text);
      if (body.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(body) as unknown);
      } catch (error) {
        done(
          new CutoverError(
            'BAD_REQUEST',
            `the body is not JSON (${(error as Error).message}); send {"flag": "...", "enabled_for": "10%"}`,
          ),
          undefined,
        );
      }
    });
    registerRoutes(scope, deps);
  });
}

function registerRoutes(app: FastifyInstance, { flags, approvals, parseBody }: SeedsDeps): void {
  const post = async (
    request: { body: unknown },
    reply: { code: (status: number) => { send: (body: unknown) => unknown } },
  ): Promise<unknown> => {
    const body = parseBody(seedsFlagBody, request.body);
    const environment = flags.environment(body.environment);
    const existing = flags.find(environment, body.flag);
    const existed = existing !== null;
    if (approvals.requires(environment)) {
      const flag = seedsFlag(body, existing?.flag ?? null);
      const pending = approvals.propose(
        environment,
        body.flag,
        existed ? { type: 'replace', flag, ifVersion: existing.version } : { type: 'create', flag },
        { actor: body.actor ?? 'api (feature-flags)', reason: `enabled_for ${String(body.enabled_for)}` },
      );
      return reply.code(202).send({ pending });
    }
    const stored = flags.upsert(environment, body.flag, (existing) => seedsFlag(body, existing), {
      actor: body.actor ?? 'api (feature-flags)',
      reason: `enabled_for ${String(body.enabled_for)}`,
    });
    return reply.code(existed ? 200 : 201).send({ ...toSeedsShape(stored.flag), environment, version: stored.version });
  };
  app.post('/admin/feature-flags/', post);
  app.post('/admin/feature-flags', post);
  const list = async (request: { query: { environment?: string } }): Promise<unknown> => {
    const environment = flags.environment(request.query.environment);
    return { environment, flags: flags.list(environment).flags.map((entry) => toSeedsShape(entry.flag)) };
  };
  app.get<{ Querystring: { environment?: string } }>('/admin/feature-flags/', list);
  app.get<{ Querystring: { environment?: string } }>('/admin/feature-flags', list);
}
