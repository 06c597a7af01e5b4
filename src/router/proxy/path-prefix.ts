import { escapedPath } from '../request-path.js';

/** The path after a stripped prefix: `/api/users?q` → `/users?q`, `/api` → `/`, `/api?q` → `/?q`. */
export function stripPrefix(url: string, length: number): string {
  const rest = url.slice(length);
  return rest.length === 0 || rest.charCodeAt(0) !== 0x2f ? `/${rest}` : rest;
}

/**
 * The target sent on when a path route strips its prefix. `routedPath` is the
 * normalised path the route matched (RouteTable.routedPath), or null when the
 * target was matched as written. The prefix is cut from the path it was
 * matched in, so `/%61pi/users` goes on as `/users`, as nginx's `rewrite` on
 * its normalised path sends it (escaped again, request-path.ts), the query as
 * the client wrote it.
 */
export function strippedTarget(url: string, length: number, routedPath: string | null): string {
  if (routedPath === null) return stripPrefix(url, length);
  const query = url.indexOf('?');
  const path = escapedPath(stripPrefix(routedPath, length));
  return query === -1 ? path : path + url.slice(query);
}
