/**
 * The bodies of the maintenance answer (503 + Retry-After), shared by the
 * routers that answer it themselves: the nginx router writes them to files
 * nginx serves; the embedded proxy builds the same page per request (with
 * the request id in it). Pure: no I/O.
 */

export const DEFAULT_MAINTENANCE_MESSAGE = 'The service is down for maintenance. Please try again later.';

/** The operator's message, or the default sentence when none was given. */
export function maintenanceMessage(message: string): string {
  return message.length > 0 ? message : DEFAULT_MAINTENANCE_MESSAGE;
}

/** cutover's HTML page: the message escaped (it is the operator's text, never markup); a request id line when given. */
export function maintenanceHtml(message: string, requestId: string | null = null): string {
  const idLine = requestId === null ? '' : `\n<p>Request id: <code>${escapeHtml(requestId)}</code></p>`;
  return (
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>Down for maintenance</title></head>\n` +
    `<body><h1>Down for maintenance</h1>\n<p>${escapeHtml(maintenanceMessage(message))}</p>${idLine}</body></html>\n`
  );
}

/** The JSON answer for API clients, the proxy's error shape with code MAINTENANCE. */
export function maintenanceJson(message: string, requestId: string | null = null): string {
  const error: Record<string, string> = { code: 'MAINTENANCE', message: maintenanceMessage(message) };
  if (requestId !== null) error.requestId = requestId;
  return JSON.stringify({ error });
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] as string);
}
