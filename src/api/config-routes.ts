import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConfigChanges } from '../config/config-changes.js';
import { CONFIG_DIGEST_HEADER } from '../config/config-digest.js';

/**
 * `GET /api/v1/config` (which file the server runs, and its digest, which the
 * CLI compares with the file it reads) and `POST /api/v1/config/reload`
 * (`cutover reload`). The reloader itself is the composition root's.
 */
export interface ConfigControl {
  info(): { file: string | null; sha256: string | null; loadedAt: number };
  reload(actor: string): Promise<{ file: string; sha256: string; changes: ConfigChanges }>;
}

const reloadBody = z.strictObject({ actor: z.string().min(1).max(200).optional() });

type Parse = <T extends z.ZodType>(schema: T, body: unknown) => z.infer<T>;

export function registerConfigRoutes(app: FastifyInstance, control: ConfigControl, parseBody: Parse): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    const digest = control.info().sha256;
    if (digest !== null) reply.header(CONFIG_DIGEST_HEADER, digest);
    return payload;
  });
  app.get('/api/v1/config', async () => control.info());
  app.post('/api/v1/config/reload', async (request) => {
    const body = parseBody(reloadBody, request.body);
    return control.reload(body.actor ?? 'api');
  });
}
