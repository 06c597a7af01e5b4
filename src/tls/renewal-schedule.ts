/**
 * When each host needs an ACME order, as pure functions of `now` and what
 * is stored (no I/O, no timers): the renewal loop asks `planRenewals()` at
 * start and after each order, sleeps on its own clock until the earliest
 * `at`, and orders the hosts that are due. Tested with a fixed `now`.
 *
 * - A certificate is due `RENEW_BEFORE_MS` (30 days) before notAfter, or
 *   with a third of its lifetime left when it lives less than 90 days (a
 *   6-day certificate renews 2 days before it ends, not at once).
 * - A host with no certificate, with one that does not name it, or with one
 *   already due is ordered now.
 * - After failed orders the next try waits `retryDelayMs(failures)`: 1 minute
 *   doubling up to 6 hours, so a CA that refuses is not hammered (Let's
 *   Encrypt limits failed validations per hour) and a fixed DNS record is
 *   picked up within hours.
 */
export const RENEW_BEFORE_MS = 30 * 24 * 3600_000;
export const RETRY_FIRST_MS = 60_000;
export const RETRY_MAX_MS = 6 * 3600_000;

/** What the schedule needs of a stored certificate. */
export interface ScheduledCertificate {
  host: string;
  notBefore: number;
  notAfter: number;
  dnsNames: readonly string[];
}

/** Failed orders of a host since its last success. */
export interface RenewalFailures {
  count: number;
  lastAt: number;
}

export type RenewalReason = 'missing' | 'mismatch' | 'expired' | 'expiring' | 'valid';

export interface RenewalEntry {
  host: string;
  reason: RenewalReason;
  /** When to order (ms since the epoch); at or before `now` means now. */
  at: number;
  /** The certificate's end, when there is one. */
  notAfter?: number;
  /** When the certificate falls due, back-off aside (absent without a usable certificate). */
  dueAt?: number;
  failures: number;
}

export interface RenewalPlan {
  /** Hosts to order now (at ≤ now), in configured order. */
  due: RenewalEntry[];
  /** Every configured host with its next order time, in configured order. */
  entries: RenewalEntry[];
  /** The earliest `at` in the future, for the loop's timer; null when every entry is due or there is none. */
  nextWakeAt: number | null;
  /** Stored certificates of hosts no longer configured (kept, not renewed). */
  unused: string[];
}

/** When a certificate falls due: 30 days before its end, or with a third of a short lifetime left. */
export function renewalDueAt(certificate: Pick<ScheduledCertificate, 'notBefore' | 'notAfter'>): number {
  const lifetime = Math.max(0, certificate.notAfter - certificate.notBefore);
  return certificate.notAfter - Math.min(RENEW_BEFORE_MS, Math.floor(lifetime / 3));
}

/** The wait after `failures` failed orders in a row: 1 min, 2, 4, ... capped at 6 h; 0 without failures. */
export function retryDelayMs(failures: number): number {
  if (failures <= 0) return 0;
  // 2^30 min is far past the cap; stop doubling before the number grows unbounded.
  const doubled = RETRY_FIRST_MS * 2 ** Math.min(failures - 1, 30);
  return Math.min(doubled, RETRY_MAX_MS);
}

export function renewalEntry(
  host: string,
  certificate: ScheduledCertificate | undefined,
  failures: RenewalFailures | undefined,
  now: number,
): RenewalEntry {
  const failureCount = failures?.count ?? 0;
  const retryAt = failures && failures.count > 0 ? failures.lastAt + retryDelayMs(failures.count) : now;
  if (!certificate) return { host, reason: 'missing', at: retryAt, failures: failureCount };
  const notAfter = certificate.notAfter;
  if (!certificate.dnsNames.includes(host))
    return { host, reason: 'mismatch', at: retryAt, notAfter, failures: failureCount };
  const dueAt = renewalDueAt(certificate);
  const reason: RenewalReason = now >= notAfter ? 'expired' : now >= dueAt ? 'expiring' : 'valid';
  // Back-off applies once the certificate is due; before that the due time itself is the next try.
  const at = reason === 'valid' ? dueAt : retryAt;
  return { host, reason, at, notAfter, dueAt, failures: failureCount };
}

export function planRenewals(input: {
  now: number;
  configuredHosts: readonly string[];
  certificates: readonly ScheduledCertificate[];
  failures?: ReadonlyMap<string, RenewalFailures>;
}): RenewalPlan {
  const byHost = new Map(input.certificates.map((certificate) => [certificate.host, certificate]));
  const hosts = [...new Set(input.configuredHosts)];
  const entries = hosts.map((host) => renewalEntry(host, byHost.get(host), input.failures?.get(host), input.now));
  const due = entries.filter((entry) => entry.at <= input.now);
  const future = entries.filter((entry) => entry.at > input.now).map((entry) => entry.at);
  const configured = new Set(hosts);
  return {
    due,
    entries,
    nextWakeAt: future.length === 0 ? null : Math.min(...future),
    unused: input.certificates.map((c) => c.host).filter((host) => !configured.has(host)),
  };
}

/** The failures after an order of `host` ended: cleared by a success, counted up by a failure at `now`. */
export function recordOrderOutcome(
  failures: ReadonlyMap<string, RenewalFailures>,
  host: string,
  outcome: 'succeeded' | 'failed',
  now: number,
): Map<string, RenewalFailures> {
  const next = new Map(failures);
  if (outcome === 'succeeded') next.delete(host);
  else next.set(host, { count: (failures.get(host)?.count ?? 0) + 1, lastAt: now });
  return next;
}

/**
 * The schedule with its failure counts, on an injected clock (only `now()`
 * is read): what the renewal loop keeps between orders.
 */
export class RenewalSchedule {
  private failures = new Map<string, RenewalFailures>();

  constructor(private readonly clock: { now(): number }) {}

  plan(configuredHosts: readonly string[], certificates: readonly ScheduledCertificate[]): RenewalPlan {
    return planRenewals({ now: this.clock.now(), configuredHosts, certificates, failures: this.failures });
  }

  succeeded(host: string): void {
    this.failures = recordOrderOutcome(this.failures, host, 'succeeded', this.clock.now());
  }

  /** Counts a failed order; returns the failures so far and when the next try is due. */
  failed(host: string): RenewalFailures & { retryAt: number } {
    this.failures = recordOrderOutcome(this.failures, host, 'failed', this.clock.now());
    const failures = this.failures.get(host)!;
    return { ...failures, retryAt: failures.lastAt + retryDelayMs(failures.count) };
  }

  failuresOf(host: string): RenewalFailures | undefined {
    return this.failures.get(host);
  }
}
