import fs from 'node:fs';
import { proxyPaths } from '../../src/router/proxy-process/proxy-paths.js';

const REQUEST_ID = /"requestId":"([0-9A-Za-z._-]{1,64})"/g;

/**
 * The proxy log's lines about the requests named in `errors` (the bodies of
 * the proxy's own error answers carry their request id): what a failed load
 * test appends to its message, so a rare failure names its cause (the
 * upstream's error) instead of only "HTTP 502".
 */
export function proxyLogFor(stateDir: string, errors: readonly string[]): string {
  const ids = new Set<string>();
  for (const error of errors) for (const match of error.matchAll(REQUEST_ID)) ids.add(match[1] as string);
  if (ids.size === 0) return '';
  let log: string;
  try {
    log = fs.readFileSync(proxyPaths(stateDir).log, 'utf8');
  } catch {
    return '(no proxy log)';
  }
  const lines = log.split('\n').filter((line) => [...ids].some((id) => line.includes(id)));
  return lines.length === 0 ? '(no proxy log line names these requests)' : lines.join('\n');
}
