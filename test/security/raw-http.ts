import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';

/**
 * Raw sockets and a recording backend for the attacks on the proxy: the
 * attacks are malformed or hostile byte streams that fetch and undici refuse
 * to send, so the tests write the bytes themselves.
 */

/** What a backend saw of one request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
}

export interface RecordingBackend {
  server: Server;
  port: number;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** A node:http backend on 127.0.0.1 that records every request and answers with `answer` (200 "ok" by default). */
export async function startRecordingBackend(
  answer?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<RecordingBackend> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    if (answer !== undefined) {
      answer(req, res);
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    seen,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export async function openSocket(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

/**
 * Writes `bytes` and collects everything the proxy sends until it closes the
 * connection, or until `deadlineMs` (then the socket is destroyed and what
 * arrived is returned, with `closedByPeer: false`).
 */
export function exchange(
  port: number,
  bytes: string,
  deadlineMs = 10_000,
): Promise<{ text: string; closedByPeer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedByPeer: false });
    }, deadlineMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (text.length > 0) resolve({ text, closedByPeer: true });
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByPeer: true });
    });
    socket.write(bytes);
  });
}

/** Status code of every HTTP response head in `text` (a pipelined answer holds several). */
export function statusCodes(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
}
