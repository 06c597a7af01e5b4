import type { AdminClient } from '../admin-client.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

export interface MaintenanceOptions {
  message?: string;
  retryAfter?: string;
  /** CIDR blocks, repeated or comma-separated. */
  allow?: string[];
}

interface MaintenanceAnswer {
  maintenance: { message: string; retryAfterSec: number; allow: string[]; actor: string; since: number } | null;
  changed: boolean;
}

/**
 * `cutover maintenance on|off <service>`: users get 503 with Retry-After and
 * a page while it is on; the server validates the message, the wait and the
 * allow list (request-schemas.ts), so they are passed through as typed.
 */
export async function runMaintenance(
  client: AdminClient,
  service: string,
  on: boolean,
  options: MaintenanceOptions,
  json: boolean,
): Promise<ExitCode> {
  const allow = (options.allow ?? []).flatMap((entry) => entry.split(',')).map((entry) => entry.trim());
  const body = on
    ? {
        on: true,
        ...(options.message !== undefined ? { message: options.message } : {}),
        ...(options.retryAfter !== undefined ? { retryAfter: options.retryAfter } : {}),
        ...(allow.length > 0 ? { allow: allow.filter((entry) => entry.length > 0) } : {}),
      }
    : { on: false };
  const answer = await client.request<MaintenanceAnswer>(
    'POST',
    `/api/v1/services/${encodeURIComponent(service)}/maintenance`,
    body,
  );
  if (json) {
    process.stdout.write(`${JSON.stringify(answer)}\n`);
    return EXIT.OK;
  }
  const m = answer.maintenance;
  if (m === null) {
    process.stdout.write(
      answer.changed ? `${service}: maintenance off, traffic served again\n` : `${service}: was not in maintenance\n`,
    );
  } else {
    const allowed = m.allow.length > 0 ? `; still reaching it: ${m.allow.join(', ')}` : '';
    process.stdout.write(`${service}: maintenance on: users get 503, Retry-After ${m.retryAfterSec} s${allowed}\n`);
  }
  return EXIT.OK;
}
