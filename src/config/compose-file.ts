import fs from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { CutoverError } from '../core/errors.js';
import composeSpec from './compose-spec/compose-spec.json' with { type: 'json' };

/**
 * Reads a docker-compose.yml for `cutover init --from`: parsed as YAML (with
 * Compose's `<<` merge keys), then checked against the Compose spec's own
 * JSON schema (compose-spec/README.md says where it comes from). A file that
 * is not valid Compose is refused with the place: its path in the file and
 * its line. The file is hostile input: its size, its aliases and the number
 * of errors reported are bounded.
 */

/** Larger than any real Compose file by far; refused before it is read. */
export const MAX_COMPOSE_BYTES = 2 * 1024 * 1024;
const MAX_REPORTED = 8;

let validator: ValidateFunction | null = null;

function validate(value: unknown): ErrorObject[] {
  if (validator === null) {
    // The spec names draft-07 by an https URL Ajv does not know; the keywords are draft-07's. Not strict:
    // the schema uses annotations (deprecated) Ajv's strict mode refuses.
    const { $schema: _draft, ...schema } = composeSpec as Record<string, unknown>;
    validator = new Ajv({ strict: false, allErrors: true }).compile(schema);
  }
  return validator(value) ? [] : [...(validator.errors ?? [])];
}

export interface ComposeFile {
  file: string;
  compose: Record<string, unknown>;
}

export function readComposeFile(file: string): ComposeFile {
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new Error('it is not a regular file');
    if (stat.size > MAX_COMPOSE_BYTES) throw new Error(`it is ${stat.size} bytes, over ${MAX_COMPOSE_BYTES}`);
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CutoverError('COMPOSE_INVALID', `${file} cannot be read: ${(error as Error).message}`, {
      hint: 'Pass the path of a docker-compose.yml with --from.',
    });
  }
  return { file, compose: parseCompose(text, file) };
}

/** The Compose document as plain data, or COMPOSE_INVALID naming each problem's place. */
export function parseCompose(text: string, file: string): Record<string, unknown> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { merge: true, lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const lineOf = (offset: number | undefined): string =>
    offset === undefined ? '' : ` (line ${lines.linePos(offset).line}, column ${lines.linePos(offset).col})`;
  if (doc.errors.length > 0) {
    const problems = doc.errors.slice(0, MAX_REPORTED).map((e) => `${e.message.split('\n')[0]}${lineOf(e.pos[0])}`);
    throw invalid(file, problems);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw invalid(file, [(error as Error).message]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(file, ['expected a map with services: at the top']);
  const errors = mostSpecific(validate(value));
  if (errors.length > 0) {
    const problems = errors.slice(0, MAX_REPORTED).map((error) => {
      const path = pathOf(error);
      const offset = offsetOf(doc, path);
      return `${path.length === 0 ? '(top)' : path.join('.')}${lineOf(offset)}: ${describe(error)}`;
    });
    if (errors.length > MAX_REPORTED) problems.push(`... and ${errors.length - MAX_REPORTED} more`);
    throw invalid(file, problems);
  }
  return value as Record<string, unknown>;
}

/** Where a path starts in the text: the key itself for a map entry (an unknown key is the place, not its value). */
function offsetOf(doc: Document, path: (string | number)[]): number | undefined {
  const parent = path.length === 0 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(path.at(-1)));
    if (pair && isNode(pair.key)) return pair.key.range?.[0];
  }
  const node = doc.getIn(path, true);
  return isNode(node) ? node.range?.[0] : undefined;
}

function invalid(file: string, problems: string[]): CutoverError {
  return new CutoverError('COMPOSE_INVALID', `${file} is not a valid Compose file:\n  ${problems.join('\n  ')}`, {
    details: { file, problems },
  });
}

function pathOf(error: ErrorObject): (string | number)[] {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  const extra = (error.params as { additionalProperty?: string }).additionalProperty;
  return extra === undefined ? path : [...path, extra];
}

function describe(error: ErrorObject): string {
  const params = error.params as { additionalProperty?: string; allowedValues?: unknown[] };
  if (params.additionalProperty !== undefined) return 'not a key the Compose spec knows here';
  if (params.allowedValues !== undefined) return `expected one of ${params.allowedValues.map(String).join(', ')}`;
  return error.message ?? 'invalid';
}

/**
 * One error per place, the deepest first: a `oneOf` that failed because of a
 * wrong key inside reports the key, not "must match exactly one schema".
 */
function mostSpecific(errors: ErrorObject[]): ErrorObject[] {
  const places = new Map<string, ErrorObject>();
  const sorted = [...errors].sort((a, b) => pathOf(b).length - pathOf(a).length);
  for (const error of sorted) {
    const place = pathOf(error).join('.');
    const covered = [...places.keys()].some((known) => known === place || known.startsWith(`${place}.`));
    if (!covered) places.set(place, error);
    else if (places.get(place)?.keyword === 'oneOf' && error.keyword !== 'oneOf') places.set(place, error);
  }
  return [...places.values()];
}
