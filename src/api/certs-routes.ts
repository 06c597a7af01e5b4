import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { CertificateInfo, RenewalResult } from '../core/certificate-info.js';

/**
 * `GET /api/v1/certs` (`cutover certs list`: each host, where its
 * certificate comes from, its issuer, expiry and next renewal) and
 * `POST /api/v1/certs/renew` (`cutover certs renew [host] [--force]`). The
 * certificates themselves are the composition root's (server-certificates.ts).
 */
export interface CertificateControl {
  list(): CertificateInfo[];
  renew(host: string | null, force: boolean): Promise<RenewalResult[]>;
}

const renewBody = z.strictObject({
  // A DNS name at most: the host is checked against the configured ones before anything is ordered.
  host: z.string().min(1).max(253).optional(),
  force: z.boolean().optional(),
});

type Parse = <T extends z.ZodType>(schema: T, body: unknown) => z.infer<T>;

export function registerCertificateRoutes(app: FastifyInstance, certs: CertificateControl, parseBody: Parse): void {
  app.get('/api/v1/certs', async () => ({ certificates: certs.list() }));
  app.post('/api/v1/certs/renew', async (request) => {
    const body = parseBody(renewBody, request.body);
    return { results: await certs.renew(body.host ?? null, body.force ?? false) };
  });
}
