import fs from 'node:fs';
import path from 'node:path';

/**
 * The lock_timeout cutover's runner will set before each of the linted files:
 * `database.lock_timeout` of the service whose migrations directory holds
 * them, read from cutover.yaml when there is one. Without it `migrate lint`
 * would ask every file for a SET lock_timeout the runner already makes.
 */
export interface RunnerLockTimeout {
  ms: number;
  /** Where the value came from, for the report: services.web.database.lock_timeout. */
  from: string;
  /** database.statement_timeout of the same service, which the runner sets too. */
  statementMs: number;
}

export async function runnerLockTimeoutFor(
  configFile: string,
  paths: readonly string[],
  cwd: string,
): Promise<RunnerLockTimeout | null> {
  if (!fs.existsSync(path.resolve(cwd, configFile))) return null;
  // Only with a cutover.yaml: the config schemas (zod) are most of a lone lint's start-up otherwise.
  const { loadConfig } = await import('../../config/load-config.js');
  const config = await loadConfig(path.resolve(cwd, configFile));
  const linted = paths.map((given) => path.resolve(cwd, given));
  for (const service of Object.values(config.services)) {
    const migrations = service.database?.migrations;
    if (!service.database || !migrations) continue;
    const directory = versionPattern(migrations);
    if (linted.every((file) => directory.test(file)))
      return {
        ms: service.database.lockTimeoutMs,
        from: `services.${service.name}.database.lock_timeout`,
        statementMs: service.database.statementTimeoutMs,
      };
  }
  return null;
}

/** The migrations directory (which may hold ${VERSION}, any one path segment) and what lies under it. */
function versionPattern(directory: string): RegExp {
  const escaped = path
    .resolve(directory)
    .split('${VERSION}')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${escaped}(?:/.*)?$`);
}
