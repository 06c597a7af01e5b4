/**
 * Client-side tokens: the credentials a browser or a phone app carries to
 * evaluate flags over OFREP. Only their SHA-256 is stored: the token is shown
 * once, when created, and a leaked database does not hand out working tokens.
 * Two implementations honour this port: sqlite-client-token-store.ts (the
 * server's, beside the flags) and MemoryClientTokenStore (tests).
 */
export interface ClientTokenRecord {
  /** Short and public: what `cutover flags tokens list` shows and `revoke` takes. */
  id: string;
  name: string;
  /** The one flag environment the token evaluates. */
  environment: string;
  /** Hex SHA-256 of the token. */
  hash: string;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
}

export interface ClientTokenStore {
  insert(record: ClientTokenRecord): void;
  /** Every token, revoked ones included, oldest first. */
  list(): ClientTokenRecord[];
  byHash(hash: string): ClientTokenRecord | null;
  /** False when there is no such token or it was already revoked. */
  revoke(id: string, at: number): boolean;
}

export class MemoryClientTokenStore implements ClientTokenStore {
  private readonly records: ClientTokenRecord[] = [];

  insert(record: ClientTokenRecord): void {
    this.records.push({ ...record });
  }

  list(): ClientTokenRecord[] {
    return this.records.map((record) => ({ ...record }));
  }

  byHash(hash: string): ClientTokenRecord | null {
    const found = this.records.find((record) => record.hash === hash);
    return found ? { ...found } : null;
  }

  revoke(id: string, at: number): boolean {
    const found = this.records.find((record) => record.id === id && record.revokedAt === null);
    if (!found) return false;
    found.revokedAt = at;
    return true;
  }
}
