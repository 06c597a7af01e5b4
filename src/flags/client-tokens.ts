import { createHash, randomBytes } from 'node:crypto';
import { CutoverError } from '../core/errors.js';
import type { ClientTokenRecord, ClientTokenStore } from './client-token-store.js';

/**
 * Client-side tokens (`cutover flags tokens`): made, listed and revoked by the
 * admin; carried by browsers and apps, so each one is scoped to one flag
 * environment and to the flags marked `clientVisible`, and answers evaluated
 * values only (ofrep-routes.ts). The token is `cof_` and 32 random bytes; the
 * prefix lets a secret scanner and a person tell it from the admin and SDK tokens.
 */
export const CLIENT_TOKEN_PREFIX = 'cof_';

/** What the API shows of a token: never its hash. */
export interface ClientTokenInfo {
  id: string;
  name: string;
  environment: string;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
}

export class ClientTokens {
  constructor(
    private readonly store: ClientTokenStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** The token itself is in this answer only. */
  create(name: string, environment: string, actor: string): ClientTokenInfo & { token: string } {
    const token = `${CLIENT_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const record: ClientTokenRecord = {
      id: randomBytes(6).toString('hex'),
      name,
      environment,
      hash: hashToken(token),
      createdAt: this.now(),
      createdBy: actor,
      revokedAt: null,
    };
    this.store.insert(record);
    return { ...info(record), token };
  }

  list(): ClientTokenInfo[] {
    return this.store.list().map(info);
  }

  revoke(id: string): ClientTokenInfo {
    if (!this.store.revoke(id, this.now())) {
      const known = this.store.list().find((record) => record.id === id);
      if (!known) throw new CutoverError('CLIENT_TOKEN_NOT_FOUND', `no client-side token "${id}"`);
      return info(known); // already revoked: revoking again changes nothing
    }
    return info(this.store.list().find((record) => record.id === id)!);
  }

  /** The live token a credential names, or null (unknown or revoked). */
  verify(credential: string): ClientTokenInfo | null {
    if (!credential.startsWith(CLIENT_TOKEN_PREFIX)) return null;
    // A lookup by hash: the hash of a guess says nothing about a stored token, so no timing to protect.
    const record = this.store.byHash(hashToken(credential));
    return record !== null && record.revokedAt === null ? info(record) : null;
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function info(record: ClientTokenRecord): ClientTokenInfo {
  const { hash: _hash, ...rest } = record;
  return rest;
}
