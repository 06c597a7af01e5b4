/**
 * Recognises a port conflict in the last lines an instance wrote before it
 * exited: Node's "listen EADDRINUSE: address already in use 127.0.0.1:8080",
 * Go's "bind: address already in use", Python's "[Errno 98] Address already
 * in use". An app that ignores $PORT and binds a fixed port is the usual
 * cause (the running release holds it), so naming it beats a bare exit code.
 * Returns the address when the line has one, '' when it does not, null when
 * the log shows no conflict.
 */
export function portConflictIn(logTail: string): string | null {
  if (!/EADDRINUSE|address already in use/i.test(logTail)) return null;
  const address =
    /(?:EADDRINUSE|in use)\D{0,30}?((?:\[[0-9a-f:.]+\]|[\w.-]+):\d{1,5})\b/i.exec(logTail) ??
    /\b(?:listen|bind)\b[^\n]*?\s((?:\[[0-9a-f:.]+\]|[\w.-]+)?:\d{1,5})\b/i.exec(logTail);
  return address?.[1] ?? '';
}
