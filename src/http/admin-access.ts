import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SecretRedactor } from '../config/secret-redactor.js';
import type { CutoverError } from '../core/errors.js';
import type { FailedAuthThrottle } from '../core/failed-auth-throttle.js';

/**
 * A second way into the admin API besides the bearer tokens, such as the
 * dashboard's session cookie. The admin API asks it about requests that came
 * without a valid token; the composition root (server/start-server.ts) plugs
 * the dashboard in through `AdminMount`, so api/ and dashboard/ never import
 * each other.
 */
export interface AdminAccess {
  /** Routes that check their own credential, or need none (a login page, static assets). */
  isPublic(url: string): boolean;
  /** 'session': let in; 'none': no such credential (the API answers UNAUTHORIZED); an error: refused with it. */
  check(request: FastifyRequest): 'session' | 'none' | CutoverError;
}

/** What the admin server shares with what is mounted on it. */
export interface AdminMountContext {
  /** One budget of failed attempts per client address, shared by bearer tokens and other logins. */
  throttle: FailedAuthThrottle;
  redactor: SecretRedactor;
}

/** Registers routes on the admin server before its auth hook, and says how their requests get in. */
export type AdminMount = (app: FastifyInstance, shared: AdminMountContext) => AdminAccess;

/** The admin API with nothing mounted: only the bearer tokens get in. */
export const TOKENS_ONLY: AdminAccess = { isPublic: () => false, check: () => 'none' };
