/**
 * The environment of every process cutover starts for a user (instances,
 * command health checks, command analysis providers, database hooks). The
 * server's own environment holds its secrets (CUTOVER_TOKEN,
 * CUTOVER_SDK_TOKEN, DATABASE_URL, webhook keys, cloud credentials), and an app
 * that prints its environment on an error page would hand them out; so a child
 * gets only what a program needs to run at all, the variables the config names
 * in `inherit_env`, and the values cutover sets for it. Anything else an app
 * needs is written under the service's `env:` (where `${NAME}` still reads the
 * server's environment, at load, explicitly).
 */
const BASE_NAMES = new Set(['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'USER']);

export interface ChildEnvironmentOptions {
  /** Names copied from the server's environment when set there (`inherit_env`); CUTOVER_* never is. */
  inherit?: readonly string[];
  /** Set last: the service's `env` and cutover's values (PORT, VERSION, ...). */
  set?: Record<string, string>;
}

export function childEnvironment(
  options: ChildEnvironmentOptions = {},
  source: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  const inherited = new Set(options.inherit ?? []);
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined) continue;
    // The config refuses CUTOVER_* in inherit_env; this keeps the rule for any other caller.
    if (isCutoverSetting(name)) continue;
    if (BASE_NAMES.has(name) || name.startsWith('LC_') || inherited.has(name)) env[name] = value;
  }
  return { ...env, ...options.set };
}

function isCutoverSetting(name: string): boolean {
  return name.toUpperCase().startsWith('CUTOVER_');
}
