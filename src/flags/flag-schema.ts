import { z } from 'zod';
import { CutoverError } from '../core/errors.js';
import {
  DEFAULT_STICKINESS,
  isRolloutPercentage,
  NUMBER_OPERATORS,
  SEMVER_OPERATORS,
  SET_OPERATORS,
  STRING_OPERATORS,
  type Constraint,
  type Flag,
  type Rollout,
  type Rule,
  type Segments,
} from './flag-model.js';
import { parseSemver } from './semver-compare.js';
import { formatPath } from '../core/value-path.js';

/**
 * Raw JSON → a typed, defaulted Flag, once, at the boundary (the admin API,
 * the store, an SDK receiving the flag set). Every problem is reported with
 * its path and what was expected: `rules[0].constraints[1].value: expected a
 * semantic version such as 1.4.0, got "1.4"`. Unknown keys are refused, so a
 * typo (`contraints`) is an error rather than a rule that always matches.
 */

export interface FlagIssue {
  /** `rules[0].constraints[1].value`; empty for the flag itself. */
  path: string;
  message: string;
}

export type FlagParseResult<T> = { ok: true; value: T } | { ok: false; issues: FlagIssue[] };

/** Marks the issues of the cross-field checks, whose input is a whole map not worth echoing. */
const CROSS_FIELD = { crossField: true };

/** Flag keys and segment names: they end up in URLs, SSE frames, logs and metric labels, so a plain grammar. */
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const KEY_RULE = 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 200 characters';
const MAX_WEIGHT = 1_000_000;

const nonEmpty = (expected: string) => z.string({ error: expected }).min(1, { error: expected });
const attribute = nonEmpty('expected an attribute name (a non-empty string)');
const variantName = nonEmpty('expected a variant name (a non-empty string)');
const inverted = z.boolean({ error: 'expected true or false' }).default(false);
const semverText = z
  .string({ error: 'expected a semantic version such as 1.4.0' })
  .refine((text) => parseSemver(text) !== null, { error: 'expected a semantic version such as 1.4.0 or 2.0.0-rc.1' });

/** A flag key: also checked on its own where a flag is built from another shape (the seeds' `flag` field). */
export const flagKeySchema = z
  .string({ error: 'expected a flag key' })
  .max(200, { error: 'expected a key of at most 200 characters' })
  .regex(KEY, {
    error: 'expected a flag key of letters, digits, ".", "_" and "-", starting with a letter or digit',
  });

const ALL_OPERATORS = [...STRING_OPERATORS, ...SET_OPERATORS, ...NUMBER_OPERATORS, ...SEMVER_OPERATORS, 'in_segment'];

export const constraintSchema: z.ZodType<Constraint, unknown> = z.discriminatedUnion(
  'operator',
  [
    z.strictObject({
      operator: z.enum(STRING_OPERATORS),
      attribute,
      value: z.string({ error: 'expected a string' }),
      inverted,
    }),
    z.strictObject({
      operator: z.enum(SET_OPERATORS),
      attribute,
      values: z.array(z.string({ error: 'expected a string' }), { error: 'expected a list of strings' }),
      inverted,
    }),
    z.strictObject({
      operator: z.enum(NUMBER_OPERATORS),
      attribute,
      value: z.number({ error: 'expected a finite number' }),
      inverted,
    }),
    z.strictObject({ operator: z.enum(SEMVER_OPERATORS), attribute, value: semverText, inverted }),
    z.strictObject({
      operator: z.literal('in_segment'),
      segment: nonEmpty('expected a segment name (a non-empty string)'),
      inverted,
    }),
  ],
  { error: `expected operator to be one of ${ALL_OPERATORS.join(', ')}` },
);

const expectMap = (what: string) => ({
  error: (issue: { code: string }) => (issue.code === 'unrecognized_keys' ? undefined : `expected ${what}`),
});

const weightedVariantSchema = z.strictObject(
  {
    variant: variantName,
    weight: z
      .number({ error: `expected a whole number from 0 to ${MAX_WEIGHT}` })
      .int({ error: `expected a whole number from 0 to ${MAX_WEIGHT}` })
      .min(0, { error: `expected a whole number from 0 to ${MAX_WEIGHT}` })
      .max(MAX_WEIGHT, { error: `expected a whole number from 0 to ${MAX_WEIGHT}` }),
  },
  expectMap('a map { variant, weight }'),
);

const PERCENTAGE = 'expected a percentage from 0 to 100 in steps of 0.01';

export const rolloutSchema = z
  .strictObject(
    {
      percentage: z
        .number({ error: PERCENTAGE })
        .min(0, { error: PERCENTAGE })
        .max(100, { error: PERCENTAGE })
        // A bucket is 0.01 %: anything finer would be silently rounded, so say so instead.
        .refine(isRolloutPercentage, { error: PERCENTAGE }),
      stickiness: attribute.default(DEFAULT_STICKINESS),
      variant: variantName.optional(),
      variants: z
        .array(weightedVariantSchema, { error: 'expected a list of { variant, weight }' })
        .min(1, { error: 'expected at least one { variant, weight }' })
        .optional(),
    },
    expectMap('a rollout (a map with percentage and variant or variants)'),
  )
  .superRefine((rollout, ctx) => {
    if ((rollout.variant === undefined) === (rollout.variants === undefined)) {
      ctx.addIssue({
        code: 'custom',
        params: CROSS_FIELD,
        message:
          'expected either `variant` (everyone in the rollout) or `variants` (a weighted split), not both or neither',
      });
    } else if (rollout.variants !== undefined && rollout.variants.every((entry) => entry.weight === 0)) {
      ctx.addIssue({
        code: 'custom',
        params: CROSS_FIELD,
        path: ['variants'],
        message: 'expected at least one weight above 0',
      });
    }
  })
  .transform((rollout) => rollout as Rollout);

const ruleSchema = z
  .strictObject(
    {
      name: z.string({ error: 'expected a string' }).optional(),
      constraints: z.array(constraintSchema, { error: 'expected a list of constraints' }).default([]),
      variant: variantName.optional(),
      rollout: rolloutSchema.optional(),
    },
    expectMap('a rule (a map with constraints and variant or rollout)'),
  )
  .superRefine((rule, ctx) => {
    if ((rule.variant === undefined) === (rule.rollout === undefined)) {
      ctx.addIssue({
        code: 'custom',
        params: CROSS_FIELD,
        message: 'expected either `variant` or `rollout`, not both or neither',
      });
    }
  })
  .transform((rule) => rule as Rule);

export const flagSchema = z
  .strictObject(
    {
      key: flagKeySchema,
      description: z.string({ error: 'expected a string' }).default(''),
      enabled: z.boolean({ error: 'expected true or false' }),
      variants: z.record(variantName, z.json({ error: 'expected a JSON value' }), {
        error: 'expected a map of variant name to value',
      }),
      defaultVariant: variantName,
      offVariant: variantName,
      rules: z.array(ruleSchema, { error: 'expected a list of rules' }).default([]),
      rollout: rolloutSchema.nullable().default(null),
      // Optional rather than defaulted: a flag that never said it stays byte-for-byte what it was.
      clientVisible: z.boolean({ error: 'expected true or false' }).optional(),
    },
    expectMap('a flag (a JSON object)'),
  )
  .superRefine((flag, ctx) => {
    const known = Object.keys(flag.variants);
    const check = (name: string, path: (string | number)[]): void => {
      if (Object.hasOwn(flag.variants, name)) return;
      const expected =
        known.length === 0
          ? 'expected a variant, but `variants` is empty'
          : `expected one of the variants ${known.join(', ')}`;
      ctx.addIssue({ code: 'custom', params: CROSS_FIELD, path, message: `${expected}, got ${JSON.stringify(name)}` });
    };
    check(flag.defaultVariant, ['defaultVariant']);
    check(flag.offVariant, ['offVariant']);
    const checkRollout = (rollout: Rollout, path: (string | number)[]): void => {
      if (rollout.variant !== undefined) check(rollout.variant, [...path, 'variant']);
      rollout.variants?.forEach((entry, index) => check(entry.variant, [...path, 'variants', index, 'variant']));
    };
    flag.rules.forEach((rule, index) => {
      if (rule.variant !== undefined) check(rule.variant, ['rules', index, 'variant']);
      if (rule.rollout !== undefined) checkRollout(rule.rollout, ['rules', index, 'rollout']);
    });
    if (flag.rollout !== null) checkRollout(flag.rollout, ['rollout']);
  });

const segmentName = z
  .string({ error: 'expected a segment name' })
  .max(200, { error: `expected a segment name of ${KEY_RULE}` })
  .regex(KEY, { error: `expected a segment name of ${KEY_RULE}` });

export const segmentsSchema = z.record(
  segmentName,
  z.array(constraintSchema, { error: 'expected a list of constraints' }).superRefine((constraints, ctx) => {
    constraints.forEach((constraint, index) => {
      if (constraint.operator === 'in_segment')
        ctx.addIssue({
          code: 'custom',
          params: CROSS_FIELD,
          path: [index, 'operator'],
          message: 'expected a constraint on an attribute: segments cannot be nested',
        });
    });
  }),
  { error: 'expected a map of segment name to a list of constraints' },
);

export function safeParseFlag(input: unknown): FlagParseResult<Flag> {
  const parsed = flagSchema.safeParse(input, { reportInput: true });
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, issues: parsed.error.issues.flatMap(toFlagIssues) };
}

export function safeParseSegments(input: unknown): FlagParseResult<Segments> {
  const parsed = segmentsSchema.safeParse(input, { reportInput: true });
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, issues: parsed.error.issues.flatMap(toFlagIssues) };
}

/** The flag, typed and defaulted, or a CONFIG_INVALID error listing every problem (`details` holds the FlagIssue list). */
export function parseFlag(input: unknown): Flag {
  const result = safeParseFlag(input);
  if (result.ok) return result.value;
  const key =
    input !== null && typeof input === 'object' && typeof (input as { key?: unknown }).key === 'string'
      ? ` "${(input as { key: string }).key}"`
      : '';
  throw invalid(`flag${key}`, result.issues);
}

export function parseSegments(input: unknown): Segments {
  const result = safeParseSegments(input);
  if (result.ok) return result.value;
  throw invalid('segments', result.issues);
}

export function formatFlagIssues(issues: readonly FlagIssue[]): string {
  return issues.map((issue) => (issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`)).join('; ');
}

function invalid(what: string, issues: FlagIssue[]): CutoverError {
  return new CutoverError('CONFIG_INVALID', `The ${what} is invalid: ${formatFlagIssues(issues)}`, {
    hint: 'Fix the fields listed; the flag was not changed.',
    details: issues,
  });
}

function toFlagIssues(issue: z.core.$ZodIssue): FlagIssue[] {
  const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: formatPath([...path, key]), message: 'unknown key' }));
  }
  // A cross-field check names what it got itself; a refinement of one value gets "got <value>" like any other issue.
  if (issue.code === 'custom' && issue.params === CROSS_FIELD)
    return [{ path: formatPath(path), message: issue.message }];
  if (issue.code === 'invalid_union' && issue.discriminator !== undefined) {
    // Reported at the constraint with the whole object as input: describe the tag itself.
    const input = issue.input as Record<string, unknown> | null | undefined;
    const tag = input !== null && typeof input === 'object' ? input[issue.discriminator] : undefined;
    const tagPath = path.at(-1) === issue.discriminator ? path : [...path, issue.discriminator];
    return [{ path: formatPath(tagPath), message: `${issue.message}, got ${describeValue(tag)}` }];
  }
  if (issue.code === 'invalid_key') {
    return [
      {
        path: formatPath(path),
        message: `${issue.issues[0]?.message ?? 'expected a different key'}, got ${describeValue(path.at(-1))}`,
      },
    ];
  }
  return [{ path: formatPath(path), message: `${issue.message}, got ${describeValue(issue.input)}` }];
}

/**
 * Flags arrive as JSON, not YAML: null is a value a sender wrote ("got null"),
 * where config-issues.ts's describeValue calls a YAML null "an empty value".
 */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'a map';
  // JSON input holds only JSON values; anything else (a function, a symbol) is named by its type.
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
