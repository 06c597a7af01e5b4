import type { JsonValue } from './flag-model.js';

/**
 * JSON Merge Patch (RFC 7396): a map merges key by key, `null` removes a key,
 * anything else (a list included) replaces. What PATCH /api/v1/flags/:key
 * applies before the result is validated whole, so a patch can never leave
 * a flag half-valid.
 */
export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isMap(patch)) return patch;
  const result: Record<string, JsonValue> = isMap(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

function isMap(value: JsonValue | undefined): value is Record<string, JsonValue> {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}
