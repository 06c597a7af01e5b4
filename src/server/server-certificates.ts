import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { servedHosts } from '../config/served-hosts.js';
import type { CutoverConfig } from '../config/types.js';
import type { Clock, ClockTimer } from '../core/clock.js';
import { CutoverError, isCutoverError } from '../core/errors.js';
import type { Router, TlsCertificate, TlsRoute } from '../router/index.js';
import type { AcmeIssuer } from '../tls/acme-issuer.js';
import { CertificateStore, type StoredCertificate } from '../tls/certificate-store.js';
import type { AcmeChallengeType } from '../tls/challenge-responder.js';
import { RenewalSchedule, type RenewalEntry } from '../tls/renewal-schedule.js';
import { RouterChallengeResponder } from './router-challenge-responder.js';
import { hstsValue, loadServiceCertificates } from './service-certificates.js';
import type { CertificateInfo, RenewalResult } from '../core/certificate-info.js';

export interface ServerCertificatesOptions {
  config: CutoverConfig;
  logger: Logger;
  clock: Clock;
  /** Longest one ACME order may take (default: the issuer's 3 minutes). */
  orderTimeoutMs?: number;
}

/** What the certificates act through, once the router and the controller exist. */
export interface ServerCertificatesDeps {
  router: Router;
  /** The controller's swap (Controller.replaceCertificates): every service's TLS routes, files and ACME merged. */
  apply: (certificates: Map<string, TlsRoute>) => Promise<string[]>;
  /** Records an event in the services' history (and so notifies). */
  record: (event: { service: string; type: string; level: 'info' | 'warn'; message: string; data?: unknown }) => void;
}

/** The renewal loop never sleeps longer than this: a clock jump or a changed plan is seen within the hour. */
const MAX_WAKE_MS = 3_600_000;

/**
 * Every certificate the proxy serves, and where each comes from: the
 * team's files (read at start and on every reload) and the ones obtained
 * from `server.acme`'s CA for `tls: acme` services, one per host, kept in
 * the state directory and renewed by a loop (30 days before expiry, with
 * back-off after a failure, each outcome an event). Whatever changes, the
 * controller gets the merged set and re-sends the routes of the services it
 * changed: new handshakes get the new certificate, open connections keep
 * theirs. A host whose first order has not succeeded yet is served in the
 * clear (no redirect to a name without a certificate).
 */
export class ServerCertificates {
  private config: CutoverConfig;
  private files: Map<string, TlsRoute>;
  private readonly store: CertificateStore;
  private readonly schedule: RenewalSchedule;
  private readonly issued = new Map<string, StoredCertificate>();
  /**
   * What the router serves: `issued` as of the last publish the router has applied. `certs list` reads this,
   * so it never names a certificate (an order's new serial) that handshakes do not get yet.
   */
  private served = new Map<string, StoredCertificate>();
  private publishes = 0;
  private servedPublish = 0;
  private readonly lastError = new Map<string, string>();
  private issuerInstance: Promise<AcmeIssuer> | null = null;
  private timer: ClockTimer | null = null;
  private running: Promise<void> = Promise.resolve();
  private closed = false;
  private attached: ServerCertificatesDeps | null = null;

  /** Reads and checks the team's files at once: a problem stops the server's start before anything changes. */
  constructor(private readonly options: ServerCertificatesOptions) {
    this.config = options.config;
    this.files = loadServiceCertificates(options.config);
    this.store = new CertificateStore(options.config.server.stateDir);
    this.schedule = new RenewalSchedule(options.clock);
  }

  attach(deps: ServerCertificatesDeps): void {
    this.attached = deps;
  }

  private get deps(): ServerCertificatesDeps {
    if (this.attached === null) throw new CutoverError('INTERNAL', 'the certificates are not attached to a router yet');
    return this.attached;
  }

  /** The merged set for the controller's first routes (before any ACME certificate was read). */
  get initial(): Map<string, TlsRoute> {
    return this.merged();
  }

  /** Reads the stored ACME certificates, serves the valid ones, and starts the loop (which orders what is missing). */
  async start(): Promise<void> {
    for (const host of this.acmeHosts().keys()) {
      const stored = await this.store.read(host).catch(() => null);
      if (stored !== null) this.issued.set(host, stored);
    }
    await this.publish();
    this.wake(0);
  }

  /**
   * A reload: the files are read and checked first (a problem throws and
   * changes nothing), then applied with the current ACME certificates.
   * Answers the services whose certificates changed.
   */
  prepareReload(next: CutoverConfig): () => Promise<string[]> {
    const files = loadServiceCertificates(next);
    return async () => {
      this.config = next;
      this.files = files;
      const swapped = await this.publish();
      this.wake(0);
      return swapped;
    };
  }

  list(): CertificateInfo[] {
    const now = this.options.clock.now();
    const lines: CertificateInfo[] = [];
    for (const service of Object.values(this.config.services)) {
      if (service.tls?.source !== 'files') continue;
      const leaf = this.files.get(service.name)?.certificates[0];
      const details = leaf === undefined ? null : leafDetails(leaf.certPem);
      for (const host of servedHosts(service))
        lines.push({
          host,
          service: service.name,
          source: 'files',
          issuer: details?.issuer ?? null,
          serial: details?.serial ?? null,
          notAfter: details?.notAfter ?? null,
          nextRenewalAt: null,
          lastError: null,
        });
    }
    const plan = this.plan();
    const entries = new Map(plan.entries.map((entry) => [entry.host, entry]));
    for (const [host, { service }] of this.acmeHosts()) {
      const stored = this.served.get(host);
      const entry = entries.get(host);
      lines.push({
        host,
        service,
        source: 'acme',
        issuer: stored?.issuer ?? null,
        serial: stored?.serial ?? null,
        notAfter: stored?.notAfter ?? null,
        nextRenewalAt: entry === undefined ? null : Math.max(entry.at, now),
        lastError: this.lastError.get(host) ?? null,
      });
    }
    return lines;
  }

  /**
   * `cutover certs renew [host] [--force]`: orders now the hosts that are
   * due (all of them with `force`), or the one named. Waits for the orders;
   * a failed one keeps the old certificate serving.
   */
  async renew(host: string | null, force: boolean): Promise<RenewalResult[]> {
    const hosts = this.acmeHosts();
    if (host !== null && !hosts.has(host.toLowerCase()))
      throw new CutoverError(
        'CERTIFICATE_HOST_INVALID',
        `${host} is not a host of a service with tls: acme (${[...hosts.keys()].join(', ') || 'there is none'})`,
        { hint: 'Run `cutover certs list` to see the hosts and where their certificates come from.' },
      );
    const plan = this.plan();
    const chosen = plan.entries.filter((entry) =>
      host !== null ? entry.host === host.toLowerCase() : force || entry.at <= this.options.clock.now(),
    );
    const results: RenewalResult[] = [];
    await this.exclusive(async () => {
      for (const entry of chosen) results.push(await this.order(entry, 'renew'));
    });
    this.wake(0);
    return results;
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** The ACME hosts, each with its service and the challenge it is proven by. */
  private acmeHosts(): Map<string, { service: string; challenge: AcmeChallengeType }> {
    const hosts = new Map<string, { service: string; challenge: AcmeChallengeType }>();
    for (const service of Object.values(this.config.services)) {
      if (service.tls?.source !== 'acme') continue;
      for (const host of servedHosts(service))
        hosts.set(host.toLowerCase(), { service: service.name, challenge: service.tls.challenge });
    }
    return hosts;
  }

  private plan() {
    return this.schedule.plan([...this.acmeHosts().keys()], [...this.issued.values()]);
  }

  /** Runs the due orders one at a time, then sleeps until the next one is due. */
  private wake(delayMs: number): void {
    if (this.closed || this.attached === null || this.acmeHosts().size === 0) return;
    this.timer?.cancel();
    this.timer = this.options.clock.schedule(
      () => {
        this.timer = null;
        void this.exclusive(() => this.runDue()).then(() => {
          // Failed orders are in the plan as retries: after a run, nothing is due before nextWakeAt.
          const next = this.plan().nextWakeAt;
          this.wake(
            next === null ? MAX_WAKE_MS : Math.min(MAX_WAKE_MS, Math.max(1_000, next - this.options.clock.now())),
          );
        });
      },
      Math.max(0, delayMs),
    );
  }

  private async runDue(): Promise<void> {
    for (const entry of this.plan().due) {
      if (this.closed) return;
      await this.order(entry, entry.reason === 'missing' ? 'first' : 'renew');
    }
  }

  /** One order (never two at once: see `exclusive`); its outcome is an event, and a success is served at once. */
  private async order(entry: RenewalEntry, why: 'first' | 'renew'): Promise<RenewalResult> {
    const target = this.acmeHosts().get(entry.host);
    if (target === undefined) return { host: entry.host, renewed: false, error: 'no longer configured' };
    try {
      const stored = await (await this.issuer()).obtain(entry.host, { challenge: target.challenge });
      this.issued.set(entry.host, stored);
      this.schedule.succeeded(entry.host);
      this.lastError.delete(entry.host);
      await this.publish();
      this.deps.record({
        service: target.service,
        type: 'certificate.obtained',
        level: 'info',
        message: `${why === 'first' ? 'certificate obtained' : 'certificate renewed'} for ${entry.host} by ${stored.challenge} from ${stored.issuer} (serial ${stored.serial}, valid until ${new Date(stored.notAfter).toISOString()})`,
        data: { host: entry.host, serial: stored.serial, notAfter: stored.notAfter, challenge: stored.challenge },
      });
      return { host: entry.host, renewed: true, serial: stored.serial };
    } catch (error) {
      const failures = this.schedule.failed(entry.host);
      const message = isCutoverError(error) ? error.message : String(error);
      this.lastError.set(entry.host, message);
      this.options.logger.warn({ err: error, host: entry.host, retryAt: failures.retryAt }, 'ACME order failed');
      this.deps.record({
        service: target.service,
        type: 'certificate.failed',
        level: 'warn',
        message: `${message}; ${this.issued.has(entry.host) ? 'the current certificate keeps serving' : 'the host is served without HTTPS until an order succeeds'}; next attempt at ${new Date(failures.retryAt).toISOString()}`,
        data: {
          host: entry.host,
          failures: failures.count,
          retryAt: failures.retryAt,
          details: (error as CutoverError).details,
        },
      });
      return { host: entry.host, renewed: false, error: message };
    }
  }

  /** Orders run one at a time, loop and `certs renew` alike. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.running.then(work);
    this.running = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /**
   * The ACME client, loaded on the first order: acme-client and its
   * dependencies take about 0.3 s of CPU to load, which every `cutover
   * server` start paid though most configs order no certificate.
   */
  private issuer(): Promise<AcmeIssuer> {
    this.issuerInstance ??= import('../tls/acme-issuer.js').then(
      ({ AcmeIssuer }) =>
        new AcmeIssuer({
          acme: this.config.server.acme,
          store: this.store,
          responder: new RouterChallengeResponder(this.deps.router, this.options.logger),
          clock: this.options.clock,
          ...(this.options.orderTimeoutMs === undefined ? {} : { orderTimeoutMs: this.options.orderTimeoutMs }),
        }),
    );
    return this.issuerInstance;
  }

  /** Every service's TLS route: its files, or its ACME certificates that are still valid. */
  private merged(): Map<string, TlsRoute> {
    const now = this.options.clock.now();
    const routes = new Map<string, TlsRoute>();
    // The listener is the server section's, read at start: without it a reload's new tls waits for a restart.
    if (this.options.config.server.https === undefined) return routes;
    for (const service of Object.values(this.config.services)) {
      if (service.tls === undefined) continue;
      let route: TlsRoute | undefined;
      if (service.tls.source === 'files') route = this.files.get(service.name);
      else {
        const certificates: TlsCertificate[] = [];
        for (const host of servedHosts(service)) {
          const stored = this.issued.get(host.toLowerCase());
          if (stored !== undefined && stored.notAfter > now)
            certificates.push({ hosts: [host], certPem: stored.certPem, keyPem: stored.keyPem });
        }
        if (certificates.length > 0) {
          route = { certificates };
          if (service.hsts !== undefined) route.hsts = hstsValue(service.hsts);
        }
      }
      if (route !== undefined) routes.set(service.name, route);
    }
    return routes;
  }

  private async publish(): Promise<string[]> {
    const publish = ++this.publishes;
    const issued = new Map(this.issued);
    const swapped = await this.deps.apply(this.merged());
    // Two publishes can overlap (an order and a reload): the later one's view wins whichever settles last.
    if (publish > this.servedPublish) {
      this.servedPublish = publish;
      this.served = issued;
    }
    return swapped;
  }
}

function leafDetails(certPem: string): { issuer: string; serial: string; notAfter: number } | null {
  try {
    const leaf = new X509Certificate(certPem);
    return { issuer: leaf.issuer.replace(/\n/g, ', '), serial: leaf.serialNumber, notAfter: Date.parse(leaf.validTo) };
  } catch {
    return null;
  }
}
