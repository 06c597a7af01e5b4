import fs from 'node:fs';
import { parse } from 'dotenv';
import { CutoverError } from '../core/errors.js';
import { isSecretName } from './secret-redactor.js';
import type { ServiceConfig } from './types.js';

/**
 * A service's `env_file:` entries, read when a deploy starts (not when the
 * config loads), so a changed file reaches the next release without a
 * reload, and its values never sit in the config, the release snapshot or
 * the store. A file that is missing, unreadable or too large refuses the
 * deploy before the lock is taken: nothing starts, the active release serves.
 *
 * Precedence, as in Compose: a later file wins over an earlier one, and the
 * service's own `env:` wins over every file.
 */

/** A dotenv file larger than this is no env file (a wrong path to a dump or a binary): refused, not read whole. */
export const MAX_ENV_FILE_BYTES = 1024 * 1024;

/** The variables of the service's env files merged in order (later wins); {} when it has none. */
export function readEnvFiles(service: Pick<ServiceConfig, 'name' | 'envFiles'>): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const file of service.envFiles) Object.assign(merged, parse(readEnvFile(service.name, file)));
  return merged;
}

function readEnvFile(service: string, file: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    throw unreadable(
      service,
      file,
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (error as Error).message,
    );
  }
  if (!stat.isFile()) throw unreadable(service, file, 'it is not a regular file');
  if (stat.size > MAX_ENV_FILE_BYTES)
    throw unreadable(
      service,
      file,
      `it is ${stat.size} bytes, over the ${MAX_ENV_FILE_BYTES}-byte limit of an env file`,
    );
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw unreadable(service, file, (error as Error).message);
  }
}

function unreadable(service: string, file: string, why: string): CutoverError {
  return new CutoverError('ENV_FILE_UNREADABLE', `services.${service}.env_file ${file} cannot be read: ${why}`, {
    details: { service, file },
  });
}

/** The service as a deploy runs it: its env files under its own `env` (which wins, as in Compose). */
export function withEnvFiles(service: ServiceConfig): { service: ServiceConfig; fileEnv: Record<string, string> } {
  if (service.envFiles.length === 0) return { service, fileEnv: {} };
  const fileEnv = readEnvFiles(service);
  return { service: { ...service, env: { ...fileEnv, ...service.env } }, fileEnv };
}

/**
 * The values of env-file variables that are secrets, by the same rule as
 * `env` (a secret-looking name, or one listed in `secrets`), for the
 * redactor to learn: a log line or error that quotes one shows [redacted].
 */
export function secretEnvFileValues(fileEnv: Readonly<Record<string, string>>, listed: readonly string[]): string[] {
  return Object.entries(fileEnv)
    .filter(([name]) => isSecretName(name, listed))
    .map(([, value]) => value);
}

/**
 * The secret values of every service's env files, read where they can be (a missing file is a deploy's
 * refusal to report, not the redactor's): what the server knows from its start and after each reload, so
 * a rollback or a restarted instance that reads the files again is redacted too.
 */
export function envFileSecretsOf(services: Iterable<ServiceConfig>): string[] {
  const values: string[] = [];
  for (const service of services) {
    try {
      values.push(...secretEnvFileValues(readEnvFiles(service), service.secrets));
    } catch {
      // Reported by the deploy that needs the file (ENV_FILE_UNREADABLE) and by doctor.
    }
  }
  return values;
}
