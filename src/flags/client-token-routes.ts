import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ClientTokens } from './client-tokens.js';
import type { FlagService } from './flag-service.js';

/**
 * Client-side tokens through the admin API (admin token only), behind
 * `cutover flags tokens create|list|revoke`. Under /api/v1/flag-client-tokens,
 * not /api/v1/flags/..., where the name would shadow a flag's key.
 */
const createTokenBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  environment: z.string().optional(),
  actor: z.string().optional(),
});

export function registerClientTokenRoutes(
  app: FastifyInstance,
  deps: {
    clientTokens: ClientTokens;
    flags: FlagService;
    parseBody: <T extends z.ZodType>(schema: T, body: unknown) => z.infer<T>;
  },
): void {
  app.get('/api/v1/flag-client-tokens', async () => ({ tokens: deps.clientTokens.list() }));

  app.post('/api/v1/flag-client-tokens', async (request, reply) => {
    const body = deps.parseBody(createTokenBody, request.body);
    const environment = deps.flags.environment(body.environment);
    return reply.code(201).send(deps.clientTokens.create(body.name, environment, body.actor ?? 'api'));
  });

  app.delete<{ Params: { id: string } }>('/api/v1/flag-client-tokens/:id', async (request) => ({
    token: deps.clientTokens.revoke(request.params.id),
  }));
}
