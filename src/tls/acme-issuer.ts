import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import * as acme from 'acme-client';
import type { Clock } from '../core/clock.js';
import { CutoverError } from '../core/errors.js';
import type { AcmeConfig } from '../config/acme-schema.js';
import { acmeProblemFrom, describeAcmeProblem, type AcmeProblem } from './acme-problem.js';
import { AcmeDeadlineError, runWithAcmeRequestContext, type AcmeRequestContext } from './acme-request-context.js';
import { certificateDetails, splitPemChain } from './certificate-details.js';
import { certificateHost } from './certificate-host.js';
import type { CertificateStore, StoredCertificate } from './certificate-store.js';
import { ACME_CHALLENGE_TYPES, type AcmeChallengeType, type ChallengeResponder } from './challenge-responder.js';

/**
 * Obtains the certificate of one host from an RFC 8555 CA with acme-client
 * (which signs the requests and builds keys, CSRs and the acme-tls/1
 * certificate), proving the host through a ChallengeResponder by HTTP-01 or
 * TLS-ALPN-01, and saves it in the CertificateStore. It drives the order
 * step by step rather than with acme-client's `auto()`, because auto()
 * first checks the challenge itself from this machine (DNS lookup, then a
 * request to port 80/443 of the host) — which proves nothing about what the
 * CA sees and fails behind NAT — and because stepping lets the order keep
 * one deadline and read the CA's problem document of a failed challenge.
 *
 * Independent of the proxy: whoever owns the listeners implements the
 * responder. Failed orders throw CutoverError ACME_ORDER_FAILED naming the
 * host and the CA's problem (details: { host, challenge, directoryUrl, problem }).
 */
export interface AcmeIssuerOptions {
  acme: AcmeConfig;
  store: CertificateStore;
  responder: ChallengeResponder;
  clock: Clock;
  /** Longest an order may take from the first request to the saved certificate; default 3 minutes. */
  orderTimeoutMs?: number;
  /** Longest one request to the CA may take; default 30 s. */
  requestTimeoutMs?: number;
  /** How often a pending authorization or order is asked again; default 1 s (the CA's Retry-After is not read). */
  pollIntervalMs?: number;
}

export interface ObtainOptions {
  /** The challenge to answer when the CA offers it; the other supported one otherwise. Default http-01. */
  challenge?: AcmeChallengeType;
}

const DEFAULT_ORDER_TIMEOUT_MS = 180_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_POLL_INTERVAL_MS = 1_000;
/** X.509 caps commonName at 64 characters; a longer host goes in subjectAltName only (which is what clients check). */
const MAX_COMMON_NAME = 64;

type Authorization = Awaited<ReturnType<acme.Client['getAuthorizations']>>[number];
type Challenge = Authorization['challenges'][number];

export class AcmeIssuer {
  private readonly orderTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private agent: Promise<Agent | undefined> | null = null;
  private client: Promise<acme.Client> | null = null;
  private readonly inFlight = new Map<string, Promise<StoredCertificate>>();

  constructor(private readonly options: AcmeIssuerOptions) {
    this.orderTimeoutMs = options.orderTimeoutMs ?? DEFAULT_ORDER_TIMEOUT_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  }

  get directoryUrl(): string {
    return this.options.acme.directoryUrl;
  }

  /**
   * Orders a certificate for `host`, saves it in the store and returns it.
   * A second call for a host whose order is still running gets that order's
   * result rather than a second order.
   */
  obtain(host: string, options: ObtainOptions = {}): Promise<StoredCertificate> {
    let checked: string;
    try {
      checked = certificateHost(host);
    } catch (error) {
      // certificateHost throws only CutoverError; a rejected promise keeps obtain() async for every caller.
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const running = this.inFlight.get(checked);
    if (running) return running;
    const order = this.order(checked, options.challenge ?? 'http-01').finally(() => this.inFlight.delete(checked));
    this.inFlight.set(checked, order);
    return order;
  }

  /** Closes the kept-alive connections to the CA. */
  async close(): Promise<void> {
    const agent = await this.agent?.catch(() => undefined);
    agent?.destroy();
  }

  private async order(host: string, preferred: AcmeChallengeType): Promise<StoredCertificate> {
    const clock = this.options.clock;
    const context: AcmeRequestContext = {
      requestTimeoutMs: this.requestTimeoutMs,
      deadline: clock.now() + this.orderTimeoutMs,
      now: () => clock.now(),
    };
    const state: OrderState = { host, challenge: preferred, cleanups: [] };
    const deadline = new AbortController();
    const timer = clock.schedule(() => deadline.abort(), this.orderTimeoutMs);
    try {
      const agent = await this.httpsAgent(host, preferred);
      if (agent) context.agent = agent;
      const work = runWithAcmeRequestContext(context, () =>
        this.steps(state, context, deadline.signal).finally(() => runCleanups(state)),
      );
      return await raceDeadline(work, deadline.signal);
    } catch (error) {
      throw this.orderFailed(state, error, context);
    } finally {
      timer.cancel();
      // Also here: after a timeout the steps may still be between two requests.
      runCleanups(state);
    }
  }

  private async steps(state: OrderState, context: AcmeRequestContext, signal: AbortSignal): Promise<StoredCertificate> {
    const { host } = state;
    const client = await this.accountClient();
    const [keyBuffer, csr] = await acme.crypto.createCsr(
      { altNames: [host], ...(host.length <= MAX_COMMON_NAME ? { commonName: host } : {}) },
      await acme.crypto.createPrivateEcdsaKey('P-256'),
    );
    const keyPem = keyBuffer.toString();
    let order = await client.createOrder({ identifiers: [{ type: 'dns', value: host }] });
    const authorizations = await client.getAuthorizations(order);
    for (const authz of authorizations) {
      if (authz.status === 'valid') continue;
      const challenge = pickChallenge(authz, state.challenge);
      state.challenge = challenge.type as AcmeChallengeType;
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      await this.answer(state, authz, challenge, keyAuthorization, signal);
      await client.completeChallenge(challenge);
      await this.waitForAuthorization(client, order, authz.url, signal);
    }
    order = await client.finalizeOrder(order, csr);
    while (order.status !== 'valid') {
      if (order.status === 'invalid')
        throw new ProblemError(
          acmeProblemFrom(order.error) ?? { type: 'order invalid', detail: 'the CA marked the order invalid' },
        );
      await this.options.clock.sleep(this.pollIntervalMs, signal);
      order = await client.getOrder(order);
    }
    const certPem = await client.getCertificate(order);
    delete context.lastProblem;
    const stored = describeIssued(host, certPem, keyPem, state.challenge, this.directoryUrl, this.options.clock.now());
    await this.options.store.write(stored);
    return stored;
  }

  /** Puts the answer where the CA will look, and registers its removal for when the order ends either way. */
  private async answer(
    state: OrderState,
    authz: Authorization,
    challenge: Challenge,
    keyAuthorization: string,
    signal: AbortSignal,
  ): Promise<void> {
    const responder = this.options.responder;
    if (signal.aborted) throw new AcmeDeadlineError('the order ran out of time');
    if (challenge.type === 'http-01') {
      const token = challenge.token;
      responder.setHttp01(token, keyAuthorization);
      state.cleanups.push(() => responder.clearHttp01(token));
      return;
    }
    const [alpnKey, alpnCertificate] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
    if (signal.aborted) throw new AcmeDeadlineError('the order ran out of time');
    responder.setTlsAlpn01(state.host, { certPem: alpnCertificate.toString(), keyPem: alpnKey.toString() });
    state.cleanups.push(() => responder.clearTlsAlpn01(state.host));
  }

  private async waitForAuthorization(
    client: acme.Client,
    order: acme.Order,
    url: string,
    signal: AbortSignal,
  ): Promise<void> {
    for (;;) {
      // getAuthorizations re-reads every authorization of the order (one here): the public way to poll one.
      const authz = (await client.getAuthorizations(order)).find((candidate) => candidate.url === url);
      if (!authz) throw new ProblemError({ type: 'authorization missing', detail: `the CA no longer lists ${url}` });
      if (authz.status === 'valid') return;
      if (authz.status !== 'pending') {
        const failed = authz.challenges.find((challenge) => challenge.status === 'invalid' && challenge.error);
        throw new ProblemError(
          acmeProblemFrom(failed?.error) ?? {
            type: `authorization ${authz.status}`,
            detail: 'the CA gave no problem document',
          },
        );
      }
      await this.options.clock.sleep(this.pollIntervalMs, signal);
    }
  }

  /** One account per issuer, registered (or found again by its key) on first use; a failure is retried next time. */
  private accountClient(): Promise<acme.Client> {
    this.client ??= (async () => {
      const accountKey = await this.options.store.accountKey(async () =>
        (await acme.crypto.createPrivateEcdsaKey('P-256')).toString(),
      );
      const client = new acme.Client({ directoryUrl: this.directoryUrl, accountKey });
      const email = this.options.acme.email;
      await client.createAccount({ termsOfServiceAgreed: true, ...(email ? { contact: [`mailto:${email}`] } : {}) });
      return client;
    })();
    this.client.catch(() => {
      this.client = null;
    });
    return this.client;
  }

  /** An agent trusting `ca_bundle` besides the system roots; none without a bundle (axios' default then). */
  private httpsAgent(host: string, challenge: AcmeChallengeType): Promise<Agent | undefined> {
    const bundlePath = this.options.acme.caBundlePath;
    if (!bundlePath) return Promise.resolve(undefined);
    this.agent ??= readFile(bundlePath, 'utf8').then((pem) => {
      if (splitPemChain(pem).length === 0) throw new Error(`${bundlePath} holds no PEM certificate`);
      return new Agent({ keepAlive: true, ca: [...rootCertificates, pem] });
    });
    return this.agent.catch((error: unknown) => {
      this.agent = null;
      throw new CutoverError(
        'CONFIG_INVALID',
        `server.acme.ca_bundle cannot be used for ${host} (${challenge}): ${(error as Error).message}`,
        { hint: 'Point ca_bundle at a readable PEM file of the CA certificates that sign the ACME directory’s HTTPS.' },
      );
    });
  }

  private orderFailed(state: OrderState, error: unknown, context: AcmeRequestContext): CutoverError {
    if (error instanceof CutoverError && error.code !== 'INTERNAL') return error;
    const problem =
      error instanceof ProblemError
        ? error.problem
        : error instanceof AcmeDeadlineError || (error instanceof Error && error.name === 'AbortError')
          ? {
              type: 'timeout',
              detail:
                `no certificate within ${Math.round(this.orderTimeoutMs / 1000)} s` +
                (context.lastRetryCause ? ` (requests to the CA kept failing: ${context.lastRetryCause})` : ''),
            }
          : isRequestTimeout(error)
            ? { type: 'timeout', detail: `the CA did not answer in time: ${messageOf(error)}` }
            : (context.lastProblem ?? { type: 'request failed', detail: messageOf(error) });
    return new CutoverError(
      'ACME_ORDER_FAILED',
      `could not obtain a certificate for ${state.host} by ${state.challenge} from ${this.directoryUrl}: ${describeAcmeProblem(problem)}`,
      {
        details: { host: state.host, challenge: state.challenge, directoryUrl: this.directoryUrl, problem },
        cause: error,
      },
    );
  }
}

interface OrderState {
  host: string;
  challenge: AcmeChallengeType;
  cleanups: (() => void)[];
}

/** Removes the answers the order put up; each once, whoever calls first (the steps, or the order after a timeout). */
function runCleanups(state: OrderState): void {
  for (const cleanup of state.cleanups.splice(0)) {
    try {
      cleanup();
    } catch {
      // A responder that cannot forget an answer must not hide the order's own outcome.
    }
  }
}

/** A failure the CA described with a problem document. */
class ProblemError extends Error {
  constructor(readonly problem: AcmeProblem) {
    super(describeAcmeProblem(problem));
  }
}

function raceDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  // The work stops on its own at its next request (see acme-request-context.ts); this only stops waiting for it.
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AcmeDeadlineError('the order ran out of time'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function pickChallenge(authz: Authorization, preferred: AcmeChallengeType): Challenge {
  const offered = (type: string): Challenge | undefined =>
    authz.challenges.find((challenge) => challenge.type === type);
  const order = [preferred, ...ACME_CHALLENGE_TYPES.filter((type) => type !== preferred)];
  for (const type of order) {
    const challenge = offered(type);
    if (challenge) return challenge;
  }
  throw new ProblemError({
    type: 'no supported challenge',
    detail: `the CA offers ${authz.challenges.map((c) => c.type).join(', ') || 'no challenge'}; cutover answers ${ACME_CHALLENGE_TYPES.join(' and ')}`,
  });
}

/** The stored form of what the CA issued, after checking that it is for this host and this key. */
function describeIssued(
  host: string,
  certPem: string,
  keyPem: string,
  challenge: AcmeChallengeType,
  directoryUrl: string,
  now: number,
): StoredCertificate {
  const details = certificateDetails(certPem);
  if (!details.dnsNames.includes(host))
    throw new ProblemError({
      type: 'wrong certificate',
      detail: `the CA issued a certificate for ${details.dnsNames.join(', ')}`,
    });
  const leaf = new X509Certificate(splitPemChain(certPem)[0]!);
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem)))
    throw new ProblemError({
      type: 'wrong certificate',
      detail: 'the issued certificate is not for the key of the CSR',
    });
  return {
    host,
    certPem,
    keyPem,
    issuer: details.issuer,
    serial: details.serial,
    notBefore: details.notBefore,
    notAfter: details.notAfter,
    dnsNames: details.dnsNames,
    challenge,
    directoryUrl,
    obtainedAt: now,
  };
}

/** axios' own timeout (ECONNABORTED, or ETIMEDOUT with clarifyTimeoutError). */
function isRequestTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ECONNABORTED' || code === 'ETIMEDOUT';
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
