import { z } from 'zod';
import { CutoverError } from '../core/errors.js';
import { DEFAULT_STICKINESS, isRolloutPercentage, type Flag, type JsonValue } from './flag-model.js';
import { flagKeySchema } from './flag-schema.js';

/**
 * The body the seeds' shell scripts send to `POST /admin/feature-flags/`:
 * `{"flag": "new_payment_system", "enabled_for": "10%", "config": {...}}`,
 * turned into a cutover flag: variants `on` (the config, or true) and `off`
 * ({} or false), off by default, and a sticky rollout of `enabled_for` to
 * `on`. Pure: the route does the storing.
 */
const PERCENT = /^\s*(-?\d+(?:\.\d+)?)\s*%\s*$/;
const PERCENT_EXPECTED = 'expected a percentage like "10%" (0% to 100%, in steps of 0.01%)';

export const seedsFlagBody = z.strictObject(
  {
    // The key the flag is stored under: the flag schema's grammar, so this door cannot store a key /api/v1/flags refuses.
    flag: flagKeySchema,
    enabled_for: z.union([z.string(), z.number()], { error: PERCENT_EXPECTED }),
    config: z.record(z.string(), z.json(), { error: 'expected a JSON object' }).optional(),
    enabled: z.boolean({ error: 'expected true or false' }).optional(),
    environment: z.string({ error: 'expected an environment name' }).optional(),
    actor: z.string({ error: 'expected a string' }).optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? undefined
        : 'expected a JSON object like {"flag": "new_payment_system", "enabled_for": "10%"}',
  },
);

export type SeedsFlagBody = z.infer<typeof seedsFlagBody>;

/** "10%" (or 10) → 10; anything outside 0..100 or finer than 0.01 is a BAD_REQUEST naming what was sent. */
export function parseEnabledFor(value: string | number): number {
  const match = typeof value === 'number' ? null : PERCENT.exec(value);
  const number = typeof value === 'number' ? value : match ? Number(match[1]) : Number.NaN;
  if (!isRolloutPercentage(number))
    throw new CutoverError('BAD_REQUEST', `enabled_for: ${PERCENT_EXPECTED}, got ${JSON.stringify(value)}`);
  return number;
}

/** The flag the seeds' body describes, built on the existing flag when there is one (its rules and description stay). */
export function seedsFlag(body: SeedsFlagBody, existing: Flag | null): Flag {
  const percentage = parseEnabledFor(body.enabled_for);
  const config = body.config;
  const variants: Record<string, JsonValue> = existing
    ? { ...existing.variants }
    : { on: config ?? true, off: config ? {} : false };
  if (config !== undefined) variants.on = config;
  if (!('on' in variants)) variants.on = true;
  if (!('off' in variants)) variants.off = typeof variants.on === 'boolean' ? false : {};
  return {
    key: body.flag,
    description: existing?.description ?? '',
    enabled: body.enabled ?? existing?.enabled ?? true,
    variants,
    defaultVariant: existing?.defaultVariant ?? 'off',
    offVariant: existing?.offVariant ?? 'off',
    rules: existing?.rules ?? [],
    rollout: { percentage, stickiness: existing?.rollout?.stickiness ?? DEFAULT_STICKINESS, variant: 'on' },
    ...(existing?.clientVisible === undefined ? {} : { clientVisible: existing.clientVisible }),
  };
}

/** A flag in the seeds' shape, for `GET /admin/feature-flags/`. */
export function toSeedsShape(flag: Flag): { flag: string; enabled_for: string; config: JsonValue; enabled: boolean } {
  const on = flag.variants.on;
  return {
    flag: flag.key,
    enabled_for: `${flag.rollout?.percentage ?? 0}%`,
    config: on !== undefined && typeof on === 'object' ? on : null,
    enabled: flag.enabled,
  };
}
