import { z } from 'zod';
import { CONFIG_DEFAULTS } from './config-defaults.js';
import { parseAge } from './duration.js';
import { listOf, parsedBy, strictMap } from './schema-fields.js';

/**
 * The `flags:` section of cutover.yaml: the environments, the browser origins
 * of client-side tokens, and the hygiene rules (when a flag is stale, which
 * environments need a second person's approval for a change).
 */

/** Flag environments: names like flag keys, so they are safe in URLs and file names. */
const FLAG_ENVIRONMENT = /^[a-z0-9][a-z0-9_-]*$/;
const FLAG_ENVIRONMENT_EXPECTED =
  'expected an environment name of lowercase letters, digits, "_" and "-", like production';
/**
 * A browser origin as the Origin header carries it: scheme, host and port, no
 * path and no trailing slash. Compared byte for byte with the header, so a
 * value the browser would never send (`https://App.example.com/`) is refused
 * here rather than silently never matching.
 */
const WEB_ORIGIN_EXPECTED = 'expected an origin like https://app.example.com or http://localhost:5173 (no path)';
const webOrigin = parsedBy((value) => {
  if (typeof value !== 'string') return { ok: false, expected: WEB_ORIGIN_EXPECTED };
  try {
    const url = new URL(value);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value) return { ok: true, value };
  } catch {
    // Not a URL at all: the same answer as a URL with a path.
  }
  return { ok: false, expected: WEB_ORIGIN_EXPECTED };
});

const environmentName = z
  .string({ error: FLAG_ENVIRONMENT_EXPECTED })
  .regex(FLAG_ENVIRONMENT, { error: FLAG_ENVIRONMENT_EXPECTED });

const age = parsedBy((value) => {
  const result = parseAge(value);
  return result.ok ? { ok: true, value: result.ms } : result;
});

export const flagsSchema = strictMap(
  {
    environments: z
      .preprocess(
        listOf,
        z
          .array(environmentName, { error: 'expected a list of environment names' })
          .min(1, { error: 'expected at least one environment' })
          .refine((names) => new Set(names).size === names.length, { error: 'expected each environment once' }),
      )
      .optional(),
    client: strictMap(
      {
        allowed_origins: z
          .preprocess(
            listOf,
            z.array(webOrigin, { error: 'expected a list of origins, like [https://app.example.com]' }),
          )
          .optional(),
      },
      'expected a map with allowed_origins, like client: { allowed_origins: [https://app.example.com] }',
    ).optional(),
    /** How long a flag may serve one value to everyone, or go unevaluated, before it is reported stale. */
    stale_after: age.optional(),
    /** Environments whose flag changes wait for a second person's `cutover flags approve`. */
    require_approval: z
      .preprocess(
        listOf,
        z.array(environmentName, { error: 'expected a list of environment names, like [production]' }),
      )
      .optional(),
  },
  'expected a map with environments, client, stale_after and require_approval, like flags: { environments: [production, staging] }',
).superRefine((flags, ctx) => {
  // An approval rule for an environment that does not exist would protect nothing, silently.
  const environments: readonly string[] = flags.environments ?? CONFIG_DEFAULTS.flagEnvironments;
  (flags.require_approval ?? []).forEach((name, index) => {
    if (!environments.includes(name))
      ctx.addIssue({
        code: 'custom',
        path: ['require_approval', index],
        message: `expected one of the flag environments (${environments.join(', ')})`,
        input: name,
      });
  });
});
