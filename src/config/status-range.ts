/**
 * Expected HTTP statuses for health and smoke checks: `200`, `"200-399"`,
 * `"2xx"`, or `[200, 299]`; resolved to an inclusive `[low, high]` range.
 */
export type StatusRangeResult = { ok: true; range: [number, number] } | { ok: false; expected: string };

export const STATUS_RANGE_EXPECTED = 'expected a status (200), a range ("200-399" or "2xx") or a pair [200, 299]';

export function parseStatusRange(value: unknown): StatusRangeResult {
  if (typeof value === 'number') return checked(value, value);
  if (Array.isArray(value)) {
    const [low, high] = value as unknown[];
    if (value.length !== 2 || typeof low !== 'number' || typeof high !== 'number')
      return { ok: false, expected: STATUS_RANGE_EXPECTED };
    return checked(low, high);
  }
  if (typeof value !== 'string') return { ok: false, expected: STATUS_RANGE_EXPECTED };
  const text = value.trim();
  const klass = /^([1-5])xx$/i.exec(text);
  if (klass) return checked(Number(klass[1]) * 100, Number(klass[1]) * 100 + 99);
  const range = /^(\d{3})\s*-\s*(\d{3})$/.exec(text);
  if (range) return checked(Number(range[1]), Number(range[2]));
  if (/^\d{3}$/.test(text)) return checked(Number(text), Number(text));
  return { ok: false, expected: STATUS_RANGE_EXPECTED };
}

function checked(low: number, high: number): StatusRangeResult {
  const valid = (status: number) => Number.isInteger(status) && status >= 100 && status <= 599;
  if (!valid(low) || !valid(high)) return { ok: false, expected: 'expected HTTP statuses from 100 to 599' };
  if (low > high) return { ok: false, expected: 'expected the lower status first' };
  return { ok: true, range: [low, high] };
}

export function formatStatusRange([low, high]: [number, number]): string {
  return low === high ? String(low) : `${low}-${high}`;
}
