/** The path after a stripped prefix: `/api/users?q` → `/users?q`, `/api` → `/`, `/api?q` → `/?q`. */
export function stripPrefix(url: string, length: number): string {
  const rest = url.slice(length);
  return rest.length === 0 || rest.charCodeAt(0) !== 0x2f ? `/${rest}` : rest;
}
