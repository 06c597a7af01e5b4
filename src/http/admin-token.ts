import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CutoverError } from '../core/errors.js';
import { ensurePrivateDir, tightenIfPresent } from '../store/private-files.js';

/**
 * The admin API's bearer token: CUTOVER_TOKEN when set, otherwise a random
 * token generated at first start into <state_dir>/admin-token with mode 0600,
 * so only the user who runs the server (and the CLI as that user) can read it.
 */
export const TOKEN_FILE = 'admin-token';

/**
 * The SDK token, made the same way (CUTOVER_SDK_TOKEN or <state_dir>/sdk-token):
 * it may only read flags and report evaluation counts, so the token that
 * applications carry cannot change a flag or deploy anything.
 */
export const SDK_TOKEN_FILE = 'sdk-token';

/**
 * The shortest token the server accepts. The generated ones are 43 characters
 * (32 random bytes, base64url); a short hand-picked one (`CUTOVER_TOKEN=a`)
 * falls to guessing no matter how the server throttles.
 */
export const MIN_TOKEN_LENGTH = 32;

export function loadOrCreateToken(stateDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return loadOrCreate(stateDir, TOKEN_FILE, 'CUTOVER_TOKEN', env.CUTOVER_TOKEN);
}

export function loadOrCreateSdkToken(stateDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return loadOrCreate(stateDir, SDK_TOKEN_FILE, 'CUTOVER_SDK_TOKEN', env.CUTOVER_SDK_TOKEN);
}

function loadOrCreate(stateDir: string, name: string, variable: string, fromEnvValue: string | undefined): string {
  const fromEnv = fromEnvValue?.trim();
  if (fromEnv) return strongEnough(fromEnv, variable);
  const file = path.join(stateDir, name);
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing) {
      // A token file copied in or written by hand may be readable by others.
      tightenIfPresent(file);
      return strongEnough(existing, file);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  ensurePrivateDir(stateDir);
  const token = randomBytes(32).toString('base64url');
  // wx: never overwrite a token another process wrote a moment ago.
  try {
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw error;
  }
}

function strongEnough(token: string, source: string): string {
  if (token.length >= MIN_TOKEN_LENGTH) return token;
  throw new CutoverError(
    'TOKEN_TOO_WEAK',
    `the token in ${source} is ${token.length} characters long; the server needs at least ${MIN_TOKEN_LENGTH}`,
    {
      hint: `Generate one with \`openssl rand -hex 32\` and put it in ${source}, or remove it and cutover generates a strong one in <state_dir>.`,
    },
  );
}

export function readToken(stateDir: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const fromEnv = env.CUTOVER_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  try {
    return fs.readFileSync(path.join(stateDir, TOKEN_FILE), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
export function tokenMatches(expected: string, header: string | undefined): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length).trim());
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** The answer to an address that has used up its failed attempts (FailedAuthThrottle); sent with Retry-After. */
export function tooManyFailures(address: string, retryAfterSeconds: number): CutoverError {
  return new CutoverError(
    'TOO_MANY_REQUESTS',
    `too many failed attempts with a wrong token from ${address}; try again in ${retryAfterSeconds} s`,
  );
}
