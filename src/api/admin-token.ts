import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
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

export function loadOrCreateToken(stateDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return loadOrCreate(stateDir, TOKEN_FILE, env.CUTOVER_TOKEN);
}

export function loadOrCreateSdkToken(stateDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return loadOrCreate(stateDir, SDK_TOKEN_FILE, env.CUTOVER_SDK_TOKEN);
}

function loadOrCreate(stateDir: string, name: string, fromEnvValue: string | undefined): string {
  const fromEnv = fromEnvValue?.trim();
  if (fromEnv) return fromEnv;
  const file = path.join(stateDir, name);
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing) {
      // A token file copied in or written by hand may be readable by others.
      tightenIfPresent(file);
      return existing;
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
