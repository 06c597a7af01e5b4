/**
 * Durations in cutover.yaml: `500ms`, `1s`, `1.5s`, `2m`, `1h`, `1m30s`, or a
 * bare number of seconds (`5`, `0.5`). Resolved to whole milliseconds.
 */
export type DurationResult = { ok: true; ms: number } | { ok: false; expected: string };

export interface DurationRule {
  /** Whether `0` is meaningful for this field (a start period, a scale-down delay). */
  allowZero: boolean;
}

export const DURATION_EXPECTED = 'expected a duration like 500ms, 1s, 1.5s, 2m, 1m30s or a number of seconds';

/** setTimeout fires at once for delays above 2^31-1 ms, so a longer duration would silently mean "now". */
export const MAX_DURATION_MS = 2_147_483_647;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const BARE_NUMBER = /^\d+(?:\.\d+)?$/;

export function parseDuration(value: unknown, rule: DurationRule = { allowZero: false }): DurationResult {
  const ms = toMilliseconds(value);
  if (ms === 'negative')
    return { ok: false, expected: `expected a ${rule.allowZero ? 'non-negative' : 'positive'} duration` };
  if (ms === null) return { ok: false, expected: DURATION_EXPECTED };
  if (ms === 0 && !rule.allowZero) return { ok: false, expected: 'expected a duration greater than zero' };
  if (ms > MAX_DURATION_MS) return { ok: false, expected: 'expected a duration of at most 24 days (the timer limit)' };
  return { ok: true, ms };
}

function toMilliseconds(value: unknown): number | 'negative' | null {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    return value < 0 ? 'negative' : Math.round(value * 1000);
  }
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (text.startsWith('-')) return toMilliseconds(text.slice(1)) === null ? null : 'negative';
  if (BARE_NUMBER.test(text)) return Math.round(Number(text) * 1000);
  if (!WHOLE.test(text)) return null;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(total) ? Math.round(total) : null;
}

/** The shortest unit-suffixed form, for messages and docs: 90000 → "1m30s", 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  if (ms % 1000 !== 0) return `${ms / 1000}s`;
  let seconds = ms / 1000;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  return `${hours ? `${hours}h` : ''}${minutes ? `${minutes}m` : ''}${seconds ? `${seconds}s` : ''}`;
}

const DAY_MS = 86_400_000;
const DAYS = /^(\d+(?:\.\d+)?)d$/;
/** Ages beyond ten years are typos (`30000d`), not policies. */
const MAX_AGE_MS = 3650 * DAY_MS;
export const AGE_EXPECTED = 'expected a duration like 30d, 14d, 36h or 90m (at most 3650d)';

/**
 * A long span that is compared with timestamps, never given to a timer (a
 * flag is stale after `30d`): days allowed (`30d`), no 24-day timer cap.
 */
export function parseAge(value: unknown): DurationResult {
  const text = typeof value === 'string' ? value.trim() : null;
  const days = text === null ? null : DAYS.exec(text);
  const ms = days ? Math.round(Number(days[1]) * DAY_MS) : toMilliseconds(value);
  if (typeof ms !== 'number' || ms <= 0 || ms > MAX_AGE_MS) return { ok: false, expected: AGE_EXPECTED };
  return { ok: true, ms };
}
