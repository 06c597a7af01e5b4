/**
 * The placeholders a service's command words and `env` values may use. Only
 * these are replaced (HOST where the runtime knows it); any other `${...}` is
 * left as written. A command is split into words before this runs, so a value
 * lands inside one word and is never read as syntax.
 */
export interface PlaceholderValues {
  VERSION: string;
  PORT: string;
  SLOT: string;
  INSTANCE: string;
  HOST?: string;
}

const PLACEHOLDER = /\$\{(VERSION|PORT|SLOT|INSTANCE|HOST)\}/g;

export function substitutePlaceholders(text: string, values: PlaceholderValues): string {
  return text.replace(PLACEHOLDER, (match, name: keyof PlaceholderValues) => values[name] ?? match);
}

export function substituteEnv(env: Record<string, string>, values: PlaceholderValues): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) result[key] = substitutePlaceholders(value, values);
  return result;
}
