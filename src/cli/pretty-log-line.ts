import { dim, red, yellow } from './output.js';

/**
 * The server's log on a terminal: one readable line per event (time, level, message, then the event's fields as
 * key=value) instead of pino's JSON, which stays what a pipe, a file or journald gets. A formatter of our own rather
 * than pino-pretty: one line per event is all a terminal needs, and it is no dependency to install on a server.
 */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, or that say nothing to a reader at a terminal (the host and pid are the terminal's). */
const SHOWN_ELSEWHERE = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'component']);

export function prettyLogLine(json: string): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return `${json.trimEnd()}\n`;
  const level = typeof event.level === 'number' ? (LEVELS[event.level] ?? String(event.level)) : 'INFO';
  const paint = level === 'WARN' ? yellow : level === 'ERROR' || level === 'FATAL' ? red : (text: string) => text;
  const time = typeof event.time === 'number' ? new Date(event.time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(event)
    .filter(([key, value]) => !SHOWN_ELSEWHERE.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${fieldText(value)}`);
  const message = typeof event.msg === 'string' ? event.msg : '';
  return `${dim(time)} ${paint(level.padEnd(5))} ${message}${fields.length ? ` ${dim(fields.join(' '))}` : ''}\n`;
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  // pino's error serializer: the message is what a reader needs on the one line; the stack stays in the JSON form.
  if (value !== null && typeof value === 'object' && 'message' in value && 'stack' in value)
    return JSON.stringify((value as { message: unknown }).message);
  return JSON.stringify(value) ?? String(value);
}

/**
 * Where `cutover server` logs: readable lines for a person at a terminal; JSON lines, as pino writes them, for a
 * pipe, a file or a log collector. pino writes each event as one JSON line in one write().
 */
export function serverLogDestination(
  out: NodeJS.WritableStream & { isTTY?: boolean },
): NodeJS.WritableStream | { write(line: string): boolean } {
  return out.isTTY ? { write: (line: string) => out.write(prettyLogLine(line)) } : out;
}
