import type { Logger } from 'pino';
import { CutoverError } from '../core/errors.js';
import type { AcmeChallenges, Router } from '../router/index.js';
import type { ChallengeResponder, TlsAlpnChallengeCertificate } from '../tls/challenge-responder.js';

/**
 * The ACME issuer's ChallengeResponder, answered by the router itself (the
 * embedded proxy: HTTP-01 on its plain listener, TLS-ALPN-01 on its TLS
 * listener). Each change sends the whole set; putting an answer up resolves
 * once the router (every proxy process) holds it, so the CA is told to look
 * only then. Taking one down may fail quietly: the next set replaces it.
 */
export class RouterChallengeResponder implements ChallengeResponder {
  private readonly challenges: AcmeChallenges = { http01: {}, tlsAlpn01: {} };

  constructor(
    private readonly router: Router,
    private readonly logger?: Logger,
  ) {}

  setHttp01(token: string, keyAuthorization: string): Promise<void> {
    this.challenges.http01[token] = keyAuthorization;
    return this.push(true);
  }

  clearHttp01(token: string): Promise<void> {
    delete this.challenges.http01[token];
    return this.push(false);
  }

  setTlsAlpn01(host: string, pair: TlsAlpnChallengeCertificate): Promise<void> {
    this.challenges.tlsAlpn01[host] = pair;
    return this.push(true);
  }

  clearTlsAlpn01(host: string): Promise<void> {
    delete this.challenges.tlsAlpn01[host];
    return this.push(false);
  }

  private async push(mustHold: boolean): Promise<void> {
    if (this.router.setAcmeChallenges === undefined)
      throw new CutoverError('ROUTER_UNSUPPORTED', `the ${this.router.kind} router does not answer ACME challenges`);
    const snapshot: AcmeChallenges = {
      http01: { ...this.challenges.http01 },
      tlsAlpn01: { ...this.challenges.tlsAlpn01 },
    };
    try {
      await this.router.setAcmeChallenges(snapshot);
    } catch (error) {
      if (mustHold) throw error;
      this.logger?.warn({ err: error }, 'the proxy did not take the ACME challenges down');
    }
  }
}
