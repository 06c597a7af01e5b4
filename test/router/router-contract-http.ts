import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import { Pool, request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import type {
  ContractBackend,
  ContractClient,
  ContractRequest,
  ContractResponse,
  ContractSocket,
} from './router-contract-types.js';

/**
 * The router contract over real HTTP, for the routers that listen on a port
 * (the embedded proxy, nginx): backends are node http servers on 127.0.0.1
 * in this process, answering `x-backend: <name>`, the status asked in
 * `?status=`, holding `?hold=<id>` until the test finishes it, and echoing
 * their name on a WebSocket.
 */
export class HttpBackends {
  private readonly servers: { server: Server; wss: WebSocketServer; sockets: Set<Socket> }[] = [];
  private readonly held = new Map<string, { backend: string; res: ServerResponse }>();
  private heldWaiters: (() => void)[] = [];
  private count = 0;

  async newBackend(): Promise<ContractBackend> {
    const name = `b${++this.count}`;
    const sockets = new Set<Socket>();
    const server = createServer((req, res) => this.answer(name, req, res));
    server.keepAliveTimeout = 60_000;
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (socket) => socket.on('message', () => socket.send(name)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    this.servers.push({ server, wss, sockets });
    return { name, upstream: (id) => ({ id, host: '127.0.0.1', port }), openConnections: () => sockets.size };
  }

  /** Resolves with the held request once a backend has it. */
  async waitForHeld(id: string): Promise<{ backend: string; res: ServerResponse }> {
    for (;;) {
      const held = this.held.get(id);
      if (held !== undefined) return held;
      await new Promise<void>((resolve) => this.heldWaiters.push(resolve));
    }
  }

  release(id: string): void {
    this.held.delete(id);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(({ server, wss, sockets }) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        return closed;
      }),
    );
  }

  private answer(name: string, req: IncomingMessage, res: ServerResponse): void {
    const query = new URL(req.url ?? '/', 'http://backend').searchParams;
    const hold = query.get('hold');
    if (hold !== null) {
      this.held.set(hold, { backend: name, res });
      const waiters = this.heldWaiters;
      this.heldWaiters = [];
      for (const waiter of waiters) waiter();
      return;
    }
    res.writeHead(Number(query.get('status') ?? 200), { 'x-backend': name, 'content-type': 'text/plain' });
    res.end(name);
  }
}

export function httpContractClient(address: { host: string; port: number }, backends: HttpBackends): ContractClient {
  const origin = `http://${address.host}:${address.port}`;
  let holds = 0;

  const send = async (req: ContractRequest, query = ''): Promise<ContractResponse> => {
    // reset: the connection closes after the response, so every request meets the router's current config.
    const response = await request(`${origin}/${query}`, { headers: headersOf(req), reset: true });
    await response.body.text();
    return responseOf(response.statusCode, response.headers);
  };

  return {
    send: (req) => send(req, statusQuery(req)),

    async sendMany(requests) {
      const pool = new Pool(origin, { connections: 8 });
      const answers: ContractResponse[] = new Array<ContractResponse>(requests.length);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < requests.length; i = next++) {
          const req = requests[i] as ContractRequest;
          const response = await pool.request({ method: 'GET', path: `/${statusQuery(req)}`, headers: headersOf(req) });
          await response.body.text();
          answers[i] = responseOf(response.statusCode, response.headers);
        }
      };
      try {
        await Promise.all(Array.from({ length: 8 }, worker));
      } finally {
        await pool.close();
      }
      return answers;
    },

    async hold(req) {
      const id = `h${++holds}`;
      const answer = send(req, `?hold=${id}`);
      // A request the router answered itself never reaches a backend: fail the case with that answer.
      const held = await Promise.race([
        backends.waitForHeld(id),
        answer.then((response) => Promise.reject(new Error(`not held: ${JSON.stringify(response)}`))),
      ]);
      return {
        backend: held.backend,
        finish: async (status = 200) => {
          backends.release(id);
          held.res.writeHead(status, { 'x-backend': held.backend, 'content-type': 'text/plain' });
          held.res.end(held.backend);
          return answer;
        },
      };
    },

    async sendHead(lines) {
      const socket = net.connect(address.port, address.host);
      socket.setEncoding('latin1');
      socket.on('error', () => undefined);
      // Bounded: a router that neither answers nor closes fails the case instead of hanging it.
      socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
      socket.write(`GET / HTTP/1.1\r\n${lines.map((line) => `${line}\r\n`).join('')}Connection: close\r\n\r\n`);
      let text = '';
      for await (const chunk of socket) text += chunk as string;
      const head = text.slice(0, text.indexOf('\r\n\r\n'));
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? '0');
      const backend = /\r\nx-backend: *([^\r]*)/i.exec(head)?.[1] ?? null;
      return { status, backend, setCookie: null };
    },

    async openWebSocket(req) {
      const socket = new WebSocket(`ws://${address.host}:${address.port}/ws`, { headers: headersOf(req) });
      socket.on('error', () => undefined);
      const closed = once(socket, 'close').then(() => undefined);
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('unexpected-response', (_request, response: IncomingMessage) =>
          reject(new Error(`upgrade refused: ${response.statusCode}`)),
        );
        socket.once('close', () => reject(new Error('closed before it opened')));
      });
      const contractSocket: ContractSocket = {
        closed,
        echo: () =>
          new Promise<string>((resolve, reject) => {
            if (socket.readyState !== WebSocket.OPEN) {
              reject(new Error('the WebSocket is closed'));
              return;
            }
            const onClose = (): void => reject(new Error('the WebSocket closed before it answered'));
            socket.once('close', onClose);
            socket.once('message', (data: Buffer) => {
              socket.off('close', onClose);
              resolve(data.toString());
            });
            socket.send('ping');
          }),
        close: () => socket.close(),
      };
      return contractSocket;
    },
  };
}

function headersOf(req: ContractRequest): Record<string, string> {
  const headers: Record<string, string> = { host: req.host, ...req.headers };
  const cookies = Object.entries(req.cookies ?? {});
  if (cookies.length > 0) headers.cookie = cookies.map(([name, value]) => `${name}=${value}`).join('; ');
  return headers;
}

function statusQuery(req: ContractRequest): string {
  return req.status === undefined ? '' : `?status=${req.status}`;
}

function responseOf(status: number, headers: Record<string, string | string[] | undefined>): ContractResponse {
  const backend = headers['x-backend'];
  const setCookie = headers['set-cookie'];
  return {
    status,
    backend: typeof backend === 'string' ? backend : null,
    setCookie: (Array.isArray(setCookie) ? setCookie[0] : setCookie) ?? null,
  };
}
