import { CutoverError } from '../core/errors.js';

/**
 * Numbers and switches in an admin API query string, read strictly: a value
 * that is not what the parameter takes is refused with BAD_REQUEST naming
 * the parameter and the value. Reading `?limit=abc` or `?lines=-5` as the
 * default (as `Number(x) || 100` did) answered a different question than
 * the one asked, and a script never learnt its call was wrong.
 */
export function wholeNumberParameter(
  query: Record<string, unknown> | undefined,
  name: string,
  range: { min: number; max?: number; fallback: number },
): number {
  const raw = query?.[name];
  if (raw === undefined) return range.fallback;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const number = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isSafeInteger(number) && number >= range.min && number <= max) return number;
  const expected =
    range.max === undefined
      ? `a whole number from ${range.min} up`
      : `a whole number from ${range.min} to ${range.max}`;
  throw new CutoverError('BAD_REQUEST', `${name}: expected ${expected}, got ${describe(raw)}`, {
    hint: `Send ${name} once, as digits only; leave it out for ${range.fallback}.`,
  });
}

/** `true`/`1` or `false`/`0`; anything else (`yes`, `on`, twice) is refused rather than read as false. */
export function booleanParameter(query: Record<string, unknown> | undefined, name: string): boolean {
  const raw = query?.[name];
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new CutoverError('BAD_REQUEST', `${name}: expected true, false, 1 or 0, got ${describe(raw)}`, {
    hint: `Send ${name}=true or leave it out.`,
  });
}

function describe(raw: unknown): string {
  return Array.isArray(raw) ? `${raw.length} values (send it once)` : JSON.stringify(raw);
}
