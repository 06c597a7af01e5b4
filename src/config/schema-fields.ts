import { z } from 'zod';
import { parseDuration, type DurationRule } from './duration.js';

/**
 * The field schemas cutover.yaml is built from, shared by the service,
 * strategy and analysis schemas. Every message starts with "expected"; the
 * loader appends what it got.
 */

type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

/** A field checked by one of the small parsers (duration, address, status range, URL). */
export function parsedBy<T>(parse: (value: unknown) => Parsed<T>) {
  return z.unknown().transform((value, ctx): T => {
    const result = parse(value);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.expected, input: value });
    return z.NEVER;
  });
}

export function strictMap<T extends z.ZodRawShape>(shape: T, expected: string) {
  return z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : expected) });
}

export function wholeNumber(min: number, max?: number) {
  const expected =
    max === undefined ? `expected a whole number ≥ ${min}` : `expected a whole number from ${min} to ${max}`;
  const number = z.number({ error: expected }).int({ error: expected }).min(min, { error: expected });
  return max === undefined ? number : number.max(max, { error: expected });
}

export function text(expected: string) {
  return z.string({ error: expected }).trim().min(1, { error: expected });
}

export function duration(rule: DurationRule) {
  return parsedBy((value) => {
    const result = parseDuration(value, rule);
    return result.ok ? { ok: true, value: result.ms } : result;
  });
}

export const positiveDuration = duration({ allowZero: false });
export const nonNegativeDuration = duration({ allowZero: true });
export const flag = z.boolean({ error: 'expected true or false' });
export const command = text('expected a shell command');

/** Numbers and true/false are turned into strings, as YAML users expect of `value: 1` or `DEBUG: true`. */
export function stringish(expected: string) {
  return z.union([z.string(), z.number(), z.boolean()], { error: expected }).transform((value) => String(value));
}

/** `x` is short for `[x]` / `{ key: x }`; the expanded form is what gets checked. */
export const listOf = (value: unknown) => (typeof value === 'string' ? [value] : value);
export const mapWith = (key: string) => (value: unknown) => (typeof value === 'string' ? { [key]: value } : value);

/** An http(s) URL with a host, kept as written (trimmed). */
export const httpUrl = parsedBy((value) => {
  const expected = 'expected an http or https URL, like http://127.0.0.1:9090';
  if (typeof value !== 'string') return { ok: false, expected };
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return { ok: false, expected };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, expected };
  if (url.hostname === '') return { ok: false, expected };
  return { ok: true, value: value.trim() };
});

/**
 * `inherit_env`: what a child process may take from the server's own
 * environment besides the minimal base (runtime/child-environment.ts). Never
 * cutover's own settings: they hold the admin and SDK tokens.
 */
const INHERIT_EXPECTED = 'expected an environment variable name, like NODE_OPTIONS';
const inheritedName = z
  .string({ error: INHERIT_EXPECTED })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: INHERIT_EXPECTED })
  .refine((name) => !name.toUpperCase().startsWith('CUTOVER_'), {
    error:
      "expected a name outside CUTOVER_*: those hold cutover's own secrets (admin and SDK tokens) and never reach a child process; write a value under env: instead",
  });
export const inheritEnvList = z.preprocess(
  listOf,
  z.array(inheritedName, { error: 'expected a list of environment variable names, like [NODE_OPTIONS]' }),
);

/** Host names as they arrive in the Host header, without the port; compared lowercased. */
export const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?)*$/;
export const hostName = parsedBy((value) => {
  const normalized = typeof value === 'string' ? value.trim().toLowerCase() : null;
  return normalized !== null && HOST_NAME.test(normalized)
    ? { ok: true, value: normalized }
    : { ok: false, expected: 'expected a host name like web.example.com (no scheme, port or path)' };
});
