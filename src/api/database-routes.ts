import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Controller } from '../controller/controller.js';
import { runningReleases } from '../controller/database-hooks.js';
import { parseBackupExpiry } from '../core/backup-retention.js';
import { CutoverError } from '../core/errors.js';
import { assertValidVersion } from '../core/version-grammar.js';
import type { ServiceMigrations } from '../migrate/service-migrations.js';

/**
 * A service's database through the admin API: migration status (applied,
 * pending, blocked and why), running the migrations that may run, labelled
 * backups and restores. `cutover migrate status|run` and `cutover db
 * backup|backups|restore` call these.
 */
const actor = z.string().min(1).max(200).optional();
const runBody = z.strictObject({ actor });
/** `expires`: 12h, 30d, 8w; a manual backup without it stays until deleted. */
const backupBody = z.strictObject({
  label: z.string().min(1).max(100),
  expires: z.string().min(1).max(20).optional(),
  actor,
});
const restoreBody = z.strictObject({ backup: z.string().min(1).max(100), actor });

type Parse = <T extends z.ZodType>(schema: T, body: unknown) => z.infer<T>;

export function registerDatabaseRoutes(app: FastifyInstance, controller: Controller, parseBody: Parse): void {
  const migrations = (): ServiceMigrations => {
    if (!controller.migrations) throw new CutoverError('INTERNAL', 'the server was started without database support');
    return controller.migrations;
  };
  /** The version whose migrations directory counts: the active release's, or the one asked for. */
  const versionOf = (name: string, asked: string | undefined): string => {
    // `${VERSION}` in the migrations path is filled with it: a version is never a path of its own.
    if (asked !== undefined) assertValidVersion(asked);
    const version = asked ?? controller.activeRelease(name)?.version;
    if (version === undefined) throw new CutoverError('BAD_REQUEST', `${name} has no active release; pass ?version=`);
    return version;
  };

  app.get<{ Params: { name: string }; Querystring: { version?: string } }>(
    '/api/v1/services/:name/migrations',
    async (request) => {
      const service = controller.service(request.params.name);
      const running = runningReleases(controller, migrations(), service.name);
      const status = await migrations().status(service, versionOf(service.name, request.query.version), running);
      return {
        service: service.name,
        database: status.database,
        directory: status.directory,
        migrations: status.plan.migrations,
        ignored: status.ignored,
        running,
      };
    },
  );

  app.post<{ Params: { name: string } }>('/api/v1/services/:name/migrations/run', async (request) => {
    const body = parseBody(runBody, request.body);
    const service = controller.service(request.params.name);
    const running = runningReleases(controller, migrations(), service.name);
    const applied = await migrations().runContract(service, versionOf(service.name, undefined), running, {
      operationId: null,
      actor: body.actor ?? 'api',
    });
    // `contract` apart: those end rollback to the releases that predate them, and the CLI says so.
    return {
      applied: applied.map((step) => step.id),
      contract: applied.filter((step) => step.phase === 'contract').map((step) => step.id),
    };
  });

  app.get<{ Params: { name: string } }>('/api/v1/services/:name/backups', async (request) => {
    const service = controller.service(request.params.name);
    return { backups: migrations().backups(service) };
  });

  app.post<{ Params: { name: string } }>('/api/v1/services/:name/backups', async (request, reply) => {
    const body = parseBody(backupBody, request.body);
    const service = controller.service(request.params.name);
    let expiresAt: number | null = null;
    if (body.expires !== undefined) {
      const ms = parseBackupExpiry(body.expires);
      if (ms === null)
        throw new CutoverError(
          'BAD_REQUEST',
          `expires: expected hours, days or weeks like 12h, 30d or 8w, got ${JSON.stringify(body.expires)}`,
        );
      expiresAt = Date.now() + ms;
    }
    const backup = await migrations().backup(
      service,
      body.label,
      controller.activeRelease(service.name)?.id ?? null,
      body.actor ?? 'api',
      null,
      { kind: 'manual', expiresAt },
    );
    return reply.code(201).send({ backup });
  });

  app.post<{ Params: { name: string } }>('/api/v1/services/:name/backups/restore', async (request) => {
    const body = parseBody(restoreBody, request.body);
    const service = controller.service(request.params.name);
    return { restored: await migrations().restore(service, body.backup, body.actor ?? 'api') };
  });
}
