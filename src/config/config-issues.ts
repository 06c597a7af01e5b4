import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import { CutoverError } from '../core/errors.js';
import { formatPath, type ValuePath } from '../core/value-path.js';

export { closestKey, editDistance } from './closest-key.js';

/**
 * One problem found in cutover.yaml, with where it is. Every problem of a file
 * is collected before anything is thrown, so a user fixes them in one pass.
 */
export interface ConfigIssue {
  /** Dotted path, `services.web.hosts[0]`; empty for the document itself. */
  path: string;
  message: string;
  /** 1-based, from the YAML source; null when the source has no such place (a default, a merged key). */
  line: number | null;
  column: number | null;
}

export type ConfigPath = ValuePath;
export { formatPath };

/**
 * Where a path points in the YAML source. `key` places the issue on the key
 * (an unknown key, a bad service name); `value` on the value. A path that is
 * not in the document (a missing field) points at its nearest ancestor's key.
 */
export type Anchor = 'key' | 'value';

export interface SourceMap {
  doc: Document;
  lineCounter: LineCounter;
}

interface Located {
  node: unknown;
  keyNode: unknown;
  complete: boolean;
}

/** The YAML node a path leads to, following aliases; stops at the deepest part that exists. */
export function findNode(doc: Document, path: ConfigPath): Located {
  let node: unknown = doc.contents;
  let keyNode: unknown = null;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return { node, keyNode, complete: false };
      keyNode = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      node = node.items[segment];
      keyNode = node;
    } else {
      return { node, keyNode, complete: false };
    }
  }
  return { node, keyNode, complete: true };
}

function startOf(node: unknown): number | null {
  if (node === null || typeof node !== 'object' || !('range' in node)) return null;
  const range = (node as { range?: [number, number, number] | null }).range;
  return range ? range[0] : null;
}

export function positionOf(source: SourceMap, path: ConfigPath, anchor: Anchor): { line: number; col: number } | null {
  const { node, keyNode, complete } = findNode(source.doc, path);
  let offset: number | null;
  if (complete) offset = anchor === 'value' ? (startOf(node) ?? startOf(keyNode)) : (startOf(keyNode) ?? startOf(node));
  // Stopped at a scalar: a shorthand (`strategy: canary`) checked in its expanded form, so the scalar is the culprit.
  else if (isScalar(node)) offset = startOf(node) ?? startOf(keyNode);
  else offset = startOf(keyNode) ?? startOf(node);
  return offset === null ? null : source.lineCounter.linePos(offset);
}

export function makeIssue(
  source: SourceMap | null,
  path: ConfigPath,
  message: string,
  anchor: Anchor = 'value',
): ConfigIssue {
  const position = source ? positionOf(source, path, anchor) : null;
  return { path: formatPath(path), message, line: position?.line ?? null, column: position?.col ?? null };
}

/** How a raw value reads in a message: `"two"`, `12`, `a list`, `nothing`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
    ? String(value)
    : typeof value;
}

export function valueAt(root: unknown, path: ConfigPath): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[segment];
  }
  return value;
}

function compareIssues(a: ConfigIssue, b: ConfigIssue): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
}

/** `services.web.instances: expected ..., got "two" (cutover.yaml:12:16)` */
export function formatIssue(issue: ConfigIssue, fileLabel: string | null): string {
  const where = issue.line === null ? fileLabel : `${fileLabel ?? 'line'}:${issue.line}:${issue.column ?? 1}`;
  const subject = issue.path === '' ? '' : `${issue.path}: `;
  return where === null ? `${subject}${issue.message}` : `${subject}${issue.message} (${where})`;
}

/** The CONFIG_INVALID error for a set of issues: one per line in the message, all of them in `details`. */
export function configInvalid(issues: readonly ConfigIssue[], fileLabel: string | null): CutoverError {
  const sorted = [...issues].sort(compareIssues);
  const subject = fileLabel ?? 'The config';
  const heading = `${subject} has ${sorted.length === 1 ? '1 problem' : `${sorted.length} problems`}:`;
  const lines = sorted.map((issue) => `  ${formatIssue(issue, fileLabel)}`);
  return new CutoverError('CONFIG_INVALID', [heading, ...lines].join('\n'), { details: sorted });
}
