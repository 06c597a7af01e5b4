/**
 * A failure message that ends with an instance's last log lines
 * (instance-supervisor.ts describeExit): the words, this marker, then the
 * lines as the app wrote them. A clause added to such a message goes before
 * the lines, not after them, where it read as the app's own last line
 * (`Error: boom; continuing (1 of 4 instance(s) failed)`).
 */
export const LOG_TAIL_MARKER = '; last log lines:\n';

export function withLogTail(message: string, tail: string): string {
  return tail === '' ? message : `${message}${LOG_TAIL_MARKER}${tail}`;
}

/** `message; clause`, with the clause before the message's log lines when it has some. */
export function addClause(message: string, clause: string): string {
  const at = message.indexOf(LOG_TAIL_MARKER);
  return at < 0 ? `${message}; ${clause}` : `${message.slice(0, at)}; ${clause}${message.slice(at)}`;
}
