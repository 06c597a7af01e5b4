/**
 * The small JSONPath subset a web metric reads its value with: `$`, then any
 * number of `.name`, `['name']` / `["name"]` and `[index]` steps, for example
 * `$.errors.rate`, `$.data[0].value`, `$['p95-ms']`. No wildcards, filters or
 * recursive descent: a metric is one value. Parsed once at config load (so a
 * typo is reported with the file's line), read for every measurement.
 */
export type JsonPathSegment = string | number;

export type JsonPathParse = { ok: true; segments: JsonPathSegment[] } | { ok: false; expected: string };

export const JSON_PATH_EXPECTED = "expected a JSON path like $.errors.rate, $.data[0].value or $['p95-ms']";

const NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*/;
const PLAIN_NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;
const INDEX = /^\[(\d+)\]/;
const QUOTED = /^\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/;

export function parseJsonPath(path: string): JsonPathParse {
  const text = path.trim();
  if (!text.startsWith('$')) return { ok: false, expected: JSON_PATH_EXPECTED };
  const segments: JsonPathSegment[] = [];
  let rest = text.slice(1);
  while (rest !== '') {
    let match: RegExpExecArray | null;
    if (rest.startsWith('.') && (match = NAME.exec(rest.slice(1))) !== null) {
      segments.push(match[0]);
      rest = rest.slice(1 + match[0].length);
    } else if ((match = INDEX.exec(rest)) !== null) {
      segments.push(Number(match[1]));
      rest = rest.slice(match[0].length);
    } else if ((match = QUOTED.exec(rest)) !== null) {
      segments.push((match[1] ?? match[2] ?? '').replace(/\\(.)/g, '$1'));
      rest = rest.slice(match[0].length);
    } else {
      return { ok: false, expected: `${JSON_PATH_EXPECTED} (cannot read ${JSON.stringify(rest)})` };
    }
  }
  return { ok: true, segments };
}

export type JsonPathRead = { found: true; value: unknown } | { found: false; missing: string };

/** The value at a parsed path; `missing` names the first step that was not there. */
export function readJsonPath(document: unknown, segments: readonly JsonPathSegment[]): JsonPathRead {
  let value = document;
  let walked = '$';
  for (const segment of segments) {
    walked +=
      typeof segment === 'number'
        ? `[${segment}]`
        : PLAIN_NAME.test(segment)
          ? `.${segment}`
          : `[${JSON.stringify(segment)}]`;
    if (typeof segment === 'number') {
      if (!Array.isArray(value) || segment >= value.length) return { found: false, missing: walked };
      value = value[segment];
    } else {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, segment)) {
        return { found: false, missing: walked };
      }
      value = (value as Record<string, unknown>)[segment];
    }
  }
  return { found: true, value };
}
