/**
 * The placeholders a service's `command` and `env` values may use. Only these
 * four are replaced; any other `${...}` (a shell variable, say) is left for the
 * shell, so `${HOME}` in a command still means the shell's HOME.
 */
export interface PlaceholderValues {
  VERSION: string;
  PORT: string;
  SLOT: string;
  INSTANCE: string;
}

const PLACEHOLDER = /\$\{(VERSION|PORT|SLOT|INSTANCE)\}/g;

export function substitutePlaceholders(text: string, values: PlaceholderValues): string {
  return text.replace(PLACEHOLDER, (_match, name: keyof PlaceholderValues) => values[name]);
}

export function substituteEnv(env: Record<string, string>, values: PlaceholderValues): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) result[key] = substitutePlaceholders(value, values);
  return result;
}
