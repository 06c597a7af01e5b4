/**
 * Semantic versions (semver.org 2.0.0) for the `semver_*` constraint
 * operators: parse `major.minor.patch[-pre.release][+build]` strictly (no
 * leading `v`, no leading zeros) and order per §11. Build metadata takes no
 * part in the order, so `1.0.0+a` equals `1.0.0+b`.
 */

export interface SemanticVersion {
  /** Decimal digits without leading zeros, kept as text so a huge number never loses precision. */
  major: string;
  minor: string;
  patch: string;
  /** Dot-separated identifiers; empty for a release. */
  prerelease: string[];
}

// The regular expression semver.org suggests, without the named groups.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const NUMERIC = /^\d+$/;

export function parseSemver(text: string): SemanticVersion | null {
  const match = SEMVER.exec(text);
  if (match === null) return null;
  const [, major = '', minor = '', patch = '', prerelease] = match;
  return { major, minor, patch, prerelease: prerelease === undefined ? [] : prerelease.split('.') };
}

/** Negative when `a` precedes `b`, 0 when they have the same precedence, positive when `a` follows `b`. */
export function compareSemver(a: SemanticVersion, b: SemanticVersion): number {
  return (
    compareDigits(a.major, b.major) ||
    compareDigits(a.minor, b.minor) ||
    compareDigits(a.patch, b.patch) ||
    comparePrerelease(a.prerelease, b.prerelease)
  );
}

/** §11.3-11.4: a pre-release precedes its release; identifiers compare left to right; more identifiers win a tie. */
function comparePrerelease(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length;
  const shared = Math.min(a.length, b.length);
  for (let i = 0; i < shared; i++) {
    const order = compareIdentifier(a[i] as string, b[i] as string);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

/** Numeric identifiers compare as numbers and precede alphanumeric ones, which compare in ASCII order. */
function compareIdentifier(a: string, b: string): number {
  const aNumeric = NUMERIC.test(a);
  const bNumeric = NUMERIC.test(b);
  if (aNumeric && bNumeric) return compareDigits(a, b);
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares decimal digit strings without leading zeros: the longer is larger, else the text decides. */
function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
