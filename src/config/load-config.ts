import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { isScalar, LineCounter, parse as parseYamlScalar, parseDocument, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { CutoverError } from '../core/errors.js';
import { checkConfig } from './config-checks.js';
import {
  closestKey,
  configInvalid,
  describeValue,
  findNode,
  makeIssue,
  type ConfigIssue,
  type ConfigPath,
  type SourceMap,
} from './config-issues.js';
import { configSchema, kindAccepting, knownKeysAt } from './config-schema.js';
import { hasReferences, substituteEnv } from './env-substitution.js';
import { resolveConfig } from './config-resolve.js';
import { isSecretName } from './secret-redactor.js';
import type { CutoverConfig } from './types.js';

/**
 * cutover.yaml → CutoverConfig, once, at the boundary. Every problem in the
 * file is collected (YAML syntax, then env references, field types, unknown
 * keys and cross-field rules) and thrown together as one CONFIG_INVALID.
 */
export interface LoadConfigOptions {
  /** Environment for `${NAME}` references; process.env when absent. */
  env?: NodeJS.ProcessEnv;
  /**
   * Load the `server` section only (the CLI: where the admin API is, where its token lives). The
   * rest of the file is neither validated nor resolved, so a command that only talks to the server
   * does not need the secrets the services' settings reference (`database.url: ${DATABASE_URL}`);
   * the server, which uses them, still refuses the file when one is missing. The result has no services.
   */
  serverOnly?: boolean;
  /**
   * Load the file with only these services (a local command about one service: `db backfill web`). The
   * other services are neither validated nor resolved, so their secrets need not be set here; a name the
   * file does not hold is refused with the names it does.
   */
  services?: readonly string[];
}

export const DEFAULT_CONFIG_FILE = 'cutover.yaml';

export async function loadConfig(file: string, options: LoadConfigOptions = {}): Promise<CutoverConfig> {
  const absolute = resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CutoverError('CONFIG_NOT_FOUND', `No config file at ${displayName(absolute)}`, { cause: error });
    }
    if (code === 'EISDIR') {
      throw new CutoverError('CONFIG_NOT_FOUND', `${displayName(absolute)} is a directory, not a config file`, {
        cause: error,
      });
    }
    throw new CutoverError('CONFIG_INVALID', `Cannot read ${displayName(absolute)}: ${(error as Error).message}`, {
      cause: error,
      hint: 'Check the file permissions.',
    });
  }
  return parseConfig(text, absolute, options);
}

export function parseConfig(text: string, file: string | null, options: LoadConfigOptions = {}): CutoverConfig {
  const absolute = file === null ? null : resolve(file);
  const label = absolute === null ? null : displayName(absolute);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: true });
  // Only the first syntax error: the parser's later ones are mostly echoes of it.
  const [syntaxError] = doc.errors;
  if (syntaxError) throw configInvalid([syntaxIssue(syntaxError)], label);

  const source: SourceMap = { doc, lineCounter };
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw configInvalid(
      [{ path: '', message: `YAML error: ${(error as Error).message}`, line: null, column: null }],
      label,
    );
  }

  // Only the section asked for is resolved and checked; the services are the server's to resolve.
  if (options.serverOnly === true && document !== null && typeof document === 'object' && !Array.isArray(document))
    document = { server: (document as { server?: unknown }).server, services: {} };
  if (options.services !== undefined) document = onlyServices(document, options.services, label);

  const issues: ConfigIssue[] = [];
  const used: { name: string; value: string }[] = [];
  const substituted = substituteTree(document, [], { env: options.env ?? process.env, source, issues, used });
  const parsed = configSchema.safeParse(substituted, { reportInput: true });
  if (!parsed.success) issues.push(...parsed.error.issues.flatMap((issue) => schemaIssues(issue, source, substituted)));
  // A field the schema already rejected needs no second message from the cross-field checks.
  const reported = new Set(issues.map((issue) => issue.path));
  issues.push(...checkConfig(substituted, source).filter((issue) => !reported.has(issue.path)));

  // The empty services stand in for the section not loaded: what they would say about it is not the file's problem.
  if (options.serverOnly === true) {
    const inServer = issues.filter((issue) => issue.path === 'server' || issue.path.startsWith('server.'));
    if (inServer.length > 0) throw configInvalid(inServer, label);
    // With the server section valid, the only thing the full schema could refuse is the stand-in.
    const server = configSchema.shape.server.parse((substituted as { server?: unknown }).server);
    return resolveConfig(
      { server, services: {} },
      {
        baseDir: absolute === null ? process.cwd() : dirname(absolute),
        file: absolute,
      },
    );
  }
  if (issues.length > 0 || !parsed.success) throw configInvalid(issues, label);
  const config = resolveConfig(parsed.data, {
    baseDir: absolute === null ? process.cwd() : dirname(absolute),
    file: absolute,
  });
  const listed = parsed.data.secrets ?? [];
  config.secretValues = [...new Set(used.filter(({ name }) => isSecretName(name, listed)).map(({ value }) => value))];
  return config;
}

function onlyServices(document: unknown, wanted: readonly string[], label: string | null): unknown {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return document;
  const services = (document as { services?: unknown }).services;
  // A malformed services section is left whole, for the schema to name the problem.
  if (services === null || typeof services !== 'object' || Array.isArray(services)) return document;
  const present = Object.keys(services);
  const missing = wanted.filter((name) => !present.includes(name));
  if (missing.length > 0)
    throw new CutoverError('SERVICE_NOT_FOUND', `no service named '${missing[0]}' in ${label ?? 'the config'}`, {
      hint: present.length > 0 ? `The services are: ${present.join(', ')}.` : 'The file has no services.',
    });
  const kept = Object.fromEntries(Object.entries(services).filter(([name]) => wanted.includes(name)));
  return { ...document, services: kept };
}

/** The file as the user would type it: relative to the working directory when inside it. */
function displayName(absolute: string): string {
  const fromCwd = relative(process.cwd(), absolute);
  return fromCwd === '' || fromCwd.startsWith('..') || isAbsolute(fromCwd) ? absolute : fromCwd;
}

function syntaxIssue(error: YAMLError): ConfigIssue {
  const firstLine = error.message.split('\n')[0] ?? error.message;
  const message = firstLine.replace(/ at line \d+, column \d+:?$/, '');
  const position = error.linePos?.[0];
  return {
    path: '',
    message: `YAML syntax error: ${message}`,
    line: position?.line ?? null,
    column: position?.col ?? null,
  };
}

function schemaIssues(issue: z.core.$ZodIssue, source: SourceMap, document: unknown): ConfigIssue[] {
  const path: ConfigPath = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(path, document);
    return issue.keys.map((key) => {
      const kind = kindAccepting(path, key);
      const guess = closestKey(key, known);
      let message: string;
      if (kind !== null) message = `unknown key here; it is only used with ${kind}`;
      else if (guess !== null) message = `unknown key; did you mean "${guess}"?`;
      else message = `unknown key; expected one of ${known.join(', ')}`;
      return makeIssue(source, [...path, key], message, 'key');
    });
  }
  if (issue.code === 'invalid_union' && issue.discriminator !== undefined) {
    // Reported at the tag with the whole map as input: describe the tag itself.
    const tag =
      issue.input !== null && typeof issue.input === 'object'
        ? (issue.input as Record<string, unknown>)[issue.discriminator]
        : undefined;
    return [makeIssue(source, path, `${issue.message}, got ${describeValue(tag)}`)];
  }
  if (issue.code === 'invalid_key') {
    const expected = issue.issues[0]?.message ?? 'expected a different key';
    return [makeIssue(source, path, `${expected}, got ${describeValue(path.at(-1))}`, 'key')];
  }
  return [makeIssue(source, path, `${issue.message}, got ${describeValue(issue.input)}`)];
}

/**
 * Resolves `${NAME}` references in every string value (never in keys). A plain
 * (unquoted) scalar that was only a reference takes the type its value reads
 * as, so `instances: ${INSTANCES:-2}` is the number 2, as if written inline.
 */
interface Substitution {
  env: NodeJS.ProcessEnv;
  source: SourceMap;
  issues: ConfigIssue[];
  /** Every variable whose value was substituted, for the secret values. */
  used: { name: string; value: string }[];
}

function substituteTree(value: unknown, path: (string | number)[], context: Substitution): unknown {
  if (typeof value === 'string') return substituteString(value, path, context);
  if (Array.isArray(value)) return value.map((item, index) => substituteTree(item, [...path, index], context));
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = substituteTree(item, [...path, key], context);
    return copy;
  }
  return value;
}

function substituteString(value: string, path: ConfigPath, { env, source, issues, used }: Substitution): unknown {
  if (!hasReferences(value)) return value;
  const result = substituteEnv(value, env);
  used.push(...result.used);
  for (const name of result.missing) {
    issues.push(
      makeIssue(
        source,
        path,
        `environment variable ${name} is not set; set it, write \${${name}:-default} for a fallback, or $\${${name}} for a literal`,
      ),
    );
  }
  for (const reference of result.malformed) {
    issues.push(
      makeIssue(
        source,
        path,
        `${reference} is not a valid reference; write \${NAME} or \${NAME:-default}, or $\${...} for a literal`,
      ),
    );
  }
  if (result.text === value) return value;
  const { node, complete } = findNode(source.doc, path);
  if (complete && isScalar(node) && node.type === 'PLAIN') {
    const retyped = parseScalar(result.text);
    if (typeof retyped === 'number' || typeof retyped === 'boolean') return retyped;
  }
  return result.text;
}

function parseScalar(text: string): unknown {
  try {
    return parseYamlScalar(text);
  } catch {
    return undefined;
  }
}
