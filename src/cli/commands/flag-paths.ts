/** The admin API paths of `cutover flags`, each with `?environment=` when --env is given (the server's default otherwise). */

export function withEnvironment(path: string, env: string | undefined): string {
  if (env === undefined) return path;
  return `${path}${path.includes('?') ? '&' : '?'}environment=${encodeURIComponent(env)}`;
}

/** `/api/v1/flags` + suffix (`/evaluate`, `?x=1`). */
export function flagsPath(suffix: string, env: string | undefined): string {
  return withEnvironment(`/api/v1/flags${suffix}`, env);
}

/** `/api/v1/flags/<key>` + suffix (`/history?limit=5`, `/rollouts`). */
export function flagPath(key: string, suffix: string, env: string | undefined): string {
  return withEnvironment(`/api/v1/flags/${encodeURIComponent(key)}${suffix}`, env);
}
