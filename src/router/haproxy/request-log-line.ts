/**
 * The one line HAProxy logs per request for cutover, and its parser. The
 * frontend logs into an in-memory ring (`REQUEST_LOG_RING`, see
 * render-haproxy-config.ts) that cutover reads over the stats socket
 * (request-log-stream.ts): no file to rotate, no port another local user
 * could write forged lines to, and a reader that falls behind makes HAProxy
 * drop log lines, never wait.
 *
 * A line is `cutover-req <backend> <server> <status> <Tr> <Ta>`:
 * - `%b` and `%s`, the backend and server names cutover gave (haproxy-names.ts), which name the release;
 * - `%ST`, the status the client got;
 * - `%Tr`, ms until the server's response head, -1 when no server answered (HAProxy made the response);
 * - `%Ta`, ms from the first byte of the request to the last byte of the response, as nginx's `$request_time`.
 *
 * Pure: no I/O.
 */

/** The ring's name in haproxy.cfg and in `show events`. */
export const REQUEST_LOG_RING = 'cutover_requests';

/** The tag that starts each of cutover's lines; HAProxy writes notices of its own into the same ring. */
const TAG = 'cutover-req';

/** The frontend's `log-format`. */
export const REQUEST_LOG_FORMAT = `${TAG} %b %s %ST %Tr %Ta`;

/** Longest line HAProxy writes into the ring (it truncates longer ones), and the longest the parser reads. */
export const REQUEST_LOG_MAX_LINE = 512;

/** Rendered names: `[a-z0-9_]` (haproxy-names.ts), so anything else is not one of cutover's lines. */
const NAME = /^[a-z0-9_]{1,200}$/;
const INTEGER = /^-?[0-9]{1,10}$/;

export interface RequestLogEntry {
  backend: string;
  server: string;
  status: number;
  /** Request start to the last byte of the response (ms). */
  activeMs: number;
  /** True when a server sent a response head; false when HAProxy answered itself (a 503, a 504, an abort). */
  serverAnswered: boolean;
}

/** Parses one of cutover's lines; null for anything else (HAProxy's own notices, a truncated or foreign line). */
export function parseRequestLogLine(line: string): RequestLogEntry | null {
  if (line.length > REQUEST_LOG_MAX_LINE || !line.startsWith(`${TAG} `)) return null;
  const fields = line.trimEnd().split(' ');
  if (fields.length !== 6) return null;
  const [, backend, server, status, responseHead, active] = fields as [string, string, string, string, string, string];
  if (!NAME.test(backend) || !NAME.test(server)) return null;
  if (!INTEGER.test(status) || !INTEGER.test(responseHead) || !INTEGER.test(active)) return null;
  const activeMs = Number(active);
  if (activeMs < 0) return null;
  return { backend, server, status: Number(status), activeMs, serverAnswered: Number(responseHead) >= 0 };
}
