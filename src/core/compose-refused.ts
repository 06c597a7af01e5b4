import type { ComposeImport } from './compose-import-types.js';

/**
 * The Compose spec allows values cutover's config refuses (`command: ""`,
 * `max_failure_ratio: 2`, `memory: "0"`, an interval of 9999h), and a new
 * one can turn up with any Compose release. Rather than fail the import
 * (as a bug in cutover) or guess a value, the key cutover refused is left
 * out, so its default applies, and a note says what was refused and why.
 * Pure: `cutover init --from` loads the written config and calls this with
 * the problems the load found.
 */

export interface RefusedValue {
  /** cutover's path, like `services.web.strategy.max_failure_ratio` or `services.web.hosts[0]`. */
  path: string;
  message: string;
}

const SERVICE_KEY = /^services\.([a-z0-9-]+)\.([A-Za-z_]+)(?:\.([A-Za-z_]+))?/;

/** The import without the refused keys, or null when a problem is not one of an imported key's value. */
export function withoutRefused(imported: ComposeImport, refused: readonly RefusedValue[]): ComposeImport | null {
  const services = imported.services.map((service) => ({
    ...service,
    entries: service.entries.map((entry) => ({ ...entry })),
  }));
  const notes = [...imported.notes];
  for (const problem of refused) {
    const [, name, key, inner] = SERVICE_KEY.exec(problem.path) ?? [];
    const service = services.find((s) => s.name === name);
    const index = service?.entries.findIndex((e) => e.key === key) ?? -1;
    if (!service || index === -1) return null;
    const entry = service.entries[index] as (typeof service.entries)[number];
    const value = entry.value;
    // A key inside a map (strategy.max_failure_ratio) goes alone; the map's other keys stay.
    const isMap = typeof value === 'object' && value !== null && !Array.isArray(value);
    if (inner !== undefined && isMap && inner in value && Object.keys(value).length > 1) {
      const { [inner]: _refused, ...rest } = value as Record<string, unknown>;
      entry.value = rest;
    } else if (key === 'image' || key === 'runtime' || key === 'hosts') {
      // What every service must have is not left out: the import itself is wrong there.
      return null;
    } else service.entries.splice(index, 1);
    notes.push({
      path: `services.${service.from}`,
      reason: `cutover refuses the value mapped to its ${inner === undefined || !isMap ? key : `${key}.${inner}`}: ${problem.message}; left out, so cutover's default applies`,
    });
  }
  return { ...imported, services, notes };
}
