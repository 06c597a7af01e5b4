import { CutoverError } from './errors.js';

/**
 * The one grammar a deploy version follows, wherever it comes from (admin API,
 * CLI, `deploy --all`, `?version=` of the migrations route): the OCI image tag
 * grammar, which users already know from `docker tag`. A version ends up in
 * `${VERSION}` of a command, an image reference, a migrations directory, log
 * lines and Prometheus labels; this grammar has no quote, blank, `$`, `/`,
 * `;`, backtick or newline, and cannot start with `.` or `-`, so it is safe in
 * every one of them (no `..` path, no option-looking word).
 */
export const VERSION_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export const VERSION_RULE =
  'a version is 1 to 128 characters: letters, digits, "_", "." and "-", not starting with "." or "-" (the OCI image tag grammar)';

export function isValidVersion(version: unknown): version is string {
  return typeof version === 'string' && VERSION_PATTERN.test(version);
}

/** Throws VERSION_INVALID naming the rule; the value is quoted with JSON escapes so a newline or control byte stays visible. */
export function assertValidVersion(version: unknown): asserts version is string {
  if (isValidVersion(version)) return;
  const shown =
    typeof version === 'string'
      ? JSON.stringify(version.length > 80 ? `${version.slice(0, 80)}…` : version)
      : typeof version;
  throw new CutoverError('VERSION_INVALID', `invalid version ${shown}: ${VERSION_RULE}`);
}
