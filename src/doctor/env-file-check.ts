import { readEnvFiles } from '../config/env-files.js';
import type { ServiceConfig } from '../config/types.js';
import type { CheckResult } from './check-result.js';

/**
 * A service's env files, read as a deploy will read them: a missing one would refuse every deploy of the
 * service (ENV_FILE_UNREADABLE), so doctor says so first. Only the count of variables is shown, never a value.
 */
export function checkEnvFiles(service: ServiceConfig): CheckResult | null {
  if (service.envFiles.length === 0) return null;
  const id = `env-file.${service.name}`;
  try {
    const count = Object.keys(readEnvFiles(service)).length;
    return {
      id,
      status: 'ok',
      message: `${service.name}: ${service.envFiles.length} env file(s), ${count} variable(s)`,
    };
  } catch (error) {
    return {
      id,
      status: 'fail',
      message: (error as Error).message,
      fix: `Create the file, or fix services.${service.name}.env_file (relative paths start at the config file's directory).`,
    };
  }
}
