/** The shapes `cutover init --from` maps a Compose file into (compose-mapping.ts and its parts). */

export interface ComposeImportOptions {
  runtime: 'docker' | 'swarm';
  /** `--service`: the compose services to import; null picks the ones that answer on a port. */
  only: readonly string[] | null;
  /** True when an env value must not be copied into the file (by its name or its value). */
  isSecret(name: string, value: string): boolean;
  /** A path as the Compose file wrote it (relative to its directory) as cutover.yaml must write it. */
  rebasePath(path: string): string;
}

export interface ImportEntry {
  key: string;
  value: unknown;
  /** Written above the key: where the value came from, or what to check. */
  comment?: string;
}

export interface ImportedService {
  name: string;
  /** Its name in the Compose file. */
  from: string;
  entries: ImportEntry[];
}

export interface ImportNote {
  /** Where in the Compose file, like services.web.volumes. */
  path: string;
  reason: string;
}

export interface ComposeImport {
  /** In deploy order: a service comes after those it depends on. */
  services: ImportedService[];
  /** `${NAME}` references the file now holds, for the server's environment. */
  references: { name: string; service: string; secret: boolean }[];
  /** Names judged secret by their value only: the top-level `secrets:` list, so they are redacted too. */
  secrets: string[];
  notes: ImportNote[];
}

export type Map = Record<string, unknown>;
export const isMap = (value: unknown): value is Map =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
export const asMap = (value: unknown): Map => (isMap(value) ? value : {});

export interface ServiceContext {
  /** The Compose service's name, as the file spells it. */
  service: string;
  /** Hosts, and host + path prefixes, claimed by the services mapped before: to the cutover service that has each. */
  hostsTaken: globalThis.Map<string, string>;
  options: ComposeImportOptions;
  notes: ImportNote[];
  references: ComposeImport['references'];
  secrets: Set<string>;
  dependsOn: string[];
  critical: boolean;
}

/** A Compose value in a note: strings as they are, anything else as JSON. */
export const shown = (value: unknown): string =>
  typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
