/**
 * A size as written in cutover.yaml: a number of bytes, or a number with a
 * unit (64KiB, 10MiB, 1GiB; KB/MB/GB and k/m/g mean the same powers of 1024
 * here, as people write them for log sizes).
 */
export type ByteSizeResult = { ok: true; bytes: number } | { ok: false; expected: string };

const EXPECTED = 'expected a size like 10MiB, 512KiB, 1GiB or a number of bytes';
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i;
const POWER: Readonly<Record<string, number>> = { b: 0, k: 1, kb: 1, kib: 1, m: 2, mb: 2, mib: 2, g: 3, gb: 3, gib: 3 };

export function parseByteSize(value: unknown, minBytes = 1): ByteSizeResult {
  const match =
    typeof value === 'number'
      ? [String(value), String(value), 'b']
      : typeof value === 'string'
        ? SIZE.exec(value.trim())
        : null;
  if (!match) return { ok: false, expected: EXPECTED };
  const bytes = Math.round(Number(match[1]) * 1024 ** POWER[(match[2] ?? 'b').toLowerCase()]!);
  if (!Number.isFinite(bytes) || bytes < minBytes)
    return { ok: false, expected: `${EXPECTED}, at least ${minBytes} bytes` };
  return { ok: true, bytes };
}
