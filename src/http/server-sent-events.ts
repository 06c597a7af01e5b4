import type { ServerResponse } from 'node:http';

/**
 * Server-Sent Events on a raw response, shared by the SDK's flag stream and
 * the dashboard's event stream: the headers that keep proxies from
 * buffering, the reconnect delay, and one event per message.
 */
export function openEventStream(response: ServerResponse, retryMs: number): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Tells nginx (a common front) not to buffer the stream.
    'x-accel-buffering': 'no',
  });
  response.socket?.setNoDelay(true);
  response.write(`retry: ${retryMs}\n\n`);
}

/** One event; `id` lets a client tell where it is (the flag stream's revision). */
export function eventMessage(name: string, data: unknown, id?: number): string {
  // JSON.stringify never writes a raw newline, so the data is one `data:` line.
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
