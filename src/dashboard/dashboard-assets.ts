import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DASHBOARD_CSS } from './dashboard-styles.js';

/**
 * The dashboard's static files, all served by cutover itself (no CDN):
 *   /dashboard/assets/dashboard.css   the stylesheet (dashboard-styles.ts)
 *   /dashboard/assets/<name>.js       the client modules, compiled by tsc from
 *                                     web/dashboard/ into dist/web/dashboard/
 *   /dashboard/vendor/uPlot.*         the charting library, from node_modules/uplot/dist
 * Public: they are code, not data; the data comes from the API behind the session.
 */
/** The browser code (web/dashboard), compiled by its own tsconfig next to the server's output: dist/web/dashboard/. */
const CLIENT_DIR = fileURLToPath(new URL('../../web/dashboard/', import.meta.url));
const UPLOT_DIR = path.dirname(createRequire(import.meta.url).resolve('uplot'));
const VENDOR_FILES: Record<string, string> = {
  'uPlot.iife.min.js': 'text/javascript; charset=utf-8',
  'uPlot.min.css': 'text/css; charset=utf-8',
};
const CLIENT_FILE = /^[a-z][a-z0-9-]*\.js$/;

export function registerDashboardAssets(app: FastifyInstance): void {
  app.get('/dashboard/assets/dashboard.css', async (_request, reply) =>
    asset(reply, 'text/css; charset=utf-8').send(DASHBOARD_CSS),
  );

  app.get<{ Params: { file: string } }>('/dashboard/assets/:file', async (request, reply) => {
    const { file } = request.params;
    if (!CLIENT_FILE.test(file)) return reply.callNotFound();
    const text = await readOrNull(path.join(CLIENT_DIR, file));
    if (text === null) return reply.callNotFound();
    return asset(reply, 'text/javascript; charset=utf-8').send(text);
  });

  app.get<{ Params: { file: string } }>('/dashboard/vendor/:file', async (request, reply) => {
    const type = Object.hasOwn(VENDOR_FILES, request.params.file) ? VENDOR_FILES[request.params.file] : undefined;
    if (!type) return reply.callNotFound();
    const text = await readOrNull(path.join(UPLOT_DIR, request.params.file));
    if (text === null) return reply.callNotFound();
    return asset(reply, type).send(text);
  });
}

function asset(reply: FastifyReply, type: string): FastifyReply {
  // no-cache: the browser revalidates, so an upgraded cutover never runs yesterday's client.
  return reply.type(type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff');
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
