/**
 * `${NAME}` and `${NAME:-default}` in string values are filled from the
 * environment once, at load. The placeholders below belong to the runtime
 * (each instance gets its own values when it starts) and are left as written.
 * `$${...}` is an escape: it loads as a literal `${...}`, for text meant for
 * the shell at run time.
 */
export const RUNTIME_VARIABLES: readonly string[] = ['VERSION', 'PORT', 'SLOT', 'INSTANCE', 'HOST'];

export interface SubstitutionResult {
  text: string;
  /** Variables referenced without a default that the environment does not set. */
  missing: string[];
  /** References that are not `${NAME}` or `${NAME:-default}`, written as they appear. */
  malformed: string[];
  /** The variables whose values went into the text (for the redaction of secret ones). */
  used: { name: string; value: string }[];
}

const REFERENCE = /\$(\$?)\{([^{}]*)\}/g;
const NAME_WITH_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

export function substituteEnv(text: string, env: NodeJS.ProcessEnv): SubstitutionResult {
  const missing: string[] = [];
  const malformed: string[] = [];
  const used: { name: string; value: string }[] = [];
  const result = text.replace(REFERENCE, (whole, escape: string, inner: string) => {
    if (escape === '$') return whole.slice(1);
    const match = NAME_WITH_DEFAULT.exec(inner);
    if (!match) {
      malformed.push(whole);
      return whole;
    }
    const [, name = '', fallback] = match;
    if (RUNTIME_VARIABLES.includes(name)) return whole;
    const value = env[name];
    // `:-` follows the shell: an empty variable takes the default too.
    if (fallback !== undefined && (value === undefined || value === '')) return fallback;
    if (value === undefined) {
      missing.push(name);
      return whole;
    }
    used.push({ name, value });
    return value;
  });
  return { text: result, missing, malformed, used };
}

/** True when the text holds something `substituteEnv` would act on. */
export function hasReferences(text: string): boolean {
  return text.includes('${');
}
