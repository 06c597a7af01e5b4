import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Dashboard sessions, kept in memory: the browser holds a random session id
 * in an HttpOnly cookie, never the admin token itself, so a leaked cookie
 * expires and can be revoked (logout) without rotating the token. A restart
 * of the server forgets every session; people log in again.
 *
 * Sessions are found by the SHA-256 of their id, so the time a lookup takes
 * says nothing about how much of a guessed id was right.
 */
export interface DashboardSession {
  /** Only in the cookie; the map holds its hash. */
  readonly id: string;
  /** Sent back in the X-Cutover-CSRF header on every cookie-authenticated write. */
  readonly csrf: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Logins are rare; the cap keeps a script that logs in in a loop from growing the map forever. */
const MAX_SESSIONS = 1000;

export class DashboardSessions {
  private readonly byHash = new Map<string, DashboardSession>();

  constructor(
    private readonly now: () => number = Date.now,
    readonly ttlMs: number = SESSION_TTL_MS,
  ) {}

  create(): DashboardSession {
    this.sweep();
    while (this.byHash.size >= MAX_SESSIONS) {
      // A Map iterates in insertion order: the first key is the oldest session.
      const oldest = this.byHash.keys().next().value;
      if (oldest === undefined) break;
      this.byHash.delete(oldest);
    }
    const createdAt = this.now();
    const session: DashboardSession = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
      createdAt,
      expiresAt: createdAt + this.ttlMs,
    };
    this.byHash.set(hashOf(session.id), session);
    return session;
  }

  /** The live session with this id, or null (unknown, revoked or expired). */
  get(id: string | undefined): DashboardSession | null {
    if (!id) return null;
    const key = hashOf(id);
    const session = this.byHash.get(key);
    if (!session) return null;
    if (session.expiresAt <= this.now()) {
      this.byHash.delete(key);
      return null;
    }
    return session;
  }

  revoke(id: string): void {
    this.byHash.delete(hashOf(id));
  }

  size(): number {
    return this.byHash.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, session] of this.byHash) if (session.expiresAt <= now) this.byHash.delete(key);
  }
}

/** Constant-time check of the CSRF header against the session's token. */
export function csrfMatches(session: DashboardSession, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const given = Buffer.from(header);
  const want = Buffer.from(session.csrf);
  return given.length === want.length && timingSafeEqual(given, want);
}

function hashOf(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}
