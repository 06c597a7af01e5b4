import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';

/**
 * Measuring devices for `proxy-floor-bench.ts`, not proxies anyone should run:
 * each is the least a Node process can do for one kind of answer, so the bench
 * can say how much of the embedded proxy's CPU per request is Node's own
 * machinery and how much is ours. Run as `node floor-proxies.js <kind>` with
 * PORT (to listen on) and UPSTREAM_PORT (for the proxies); prints "listening".
 *
 * - `http-answer`: Node's `http` server answering "ok" itself (no upstream).
 * - `socket-answer`: a `net` server writing a fixed response per request head.
 * - `llhttp-proxy`: a keep-alive reverse proxy on `net` sockets with Node's
 *   own HTTP parser (llhttp, strict) on both sides: the request head rebuilt
 *   without hop-by-hop headers and with X-Forwarded-*, the response head
 *   rebuilt, a chunked body chunked again. Requests without a body only, one
 *   upstream connection per client connection, no limits and no errors
 *   handled: what framing costs, not a proxy.
 */
const require = createRequire(import.meta.url);

interface ParserClass {
  new (): Parser;
  REQUEST: number;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}
interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  [callback: number]: (...args: never[]) => void;
}
// Node's internal HTTP parser module: undocumented, so it lives only in this bench.
const { HTTPParser, methods } = require('_http_common') as { HTTPParser: ParserClass; methods: string[] };

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);
const OK = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok');
const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

const kind = process.argv[2];
const port = Number(process.env.PORT);
const upstreamPort = Number(process.env.UPSTREAM_PORT);

if (kind === 'http-answer') {
  createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  }).listen(port, '127.0.0.1', () => console.log('listening'));
} else if (kind === 'socket-answer') {
  net
    .createServer({ noDelay: true }, (client) => {
      client.on('data', (chunk: Buffer) => {
        if (chunk.includes('\r\n\r\n')) client.write(OK);
      });
      client.on('error', () => client.destroy());
    })
    .listen(port, '127.0.0.1', () => console.log('listening'));
} else if (kind === 'llhttp-proxy') {
  net.createServer({ noDelay: true }, proxyConnection).listen(port, '127.0.0.1', () => console.log('listening'));
} else {
  console.error(`unknown kind ${kind}: http-answer | socket-answer | llhttp-proxy`);
  process.exit(2);
}

function proxyConnection(client: net.Socket): void {
  let upstream: net.Socket | null = null;
  const peer = client.remoteAddress ?? '';
  const request = new HTTPParser();
  request.initialize(HTTPParser.REQUEST, {}, 16_384, 0);
  const response = new HTTPParser();
  response.initialize(HTTPParser.RESPONSE, {}, 16_384, 0);
  let pieces: Buffer[] = [];
  let chunked = false;

  request[HTTPParser.kOnHeaders] = () => {};
  request[HTTPParser.kOnBody] = () => {};
  request[HTTPParser.kOnMessageComplete] = () => {};
  request[HTTPParser.kOnHeadersComplete] = (
    _major: number,
    _minor: number,
    raw: string[],
    method: number,
    url: string,
  ) => {
    let host = '';
    let head = `${methods[method]} ${url} HTTP/1.1\r\n`;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const lower = name.toLowerCase();
      if (lower === 'host') host = raw[i + 1] as string;
      if (!HOP_BY_HOP.has(lower)) head += `${name}: ${raw[i + 1]}\r\n`;
    }
    head += `x-forwarded-for: ${peer}\r\nx-forwarded-proto: http\r\nx-forwarded-host: ${host}\r\n\r\n`;
    if (upstream === null) {
      upstream = net.connect({ port: upstreamPort, host: '127.0.0.1', noDelay: true });
      upstream.on('data', (chunk: Buffer) => response.execute(chunk));
      upstream.on('error', () => client.destroy());
    }
    upstream.write(head, 'latin1');
  };

  response[HTTPParser.kOnHeaders] = () => {};
  response[HTTPParser.kOnHeadersComplete] = (
    _major: number,
    _minor: number,
    raw: string[],
    _method: number,
    _url: string,
    status: number,
    message: string,
  ) => {
    let head = `HTTP/1.1 ${status} ${message}\r\n`;
    chunked = false;
    for (let i = 0; i < raw.length; i += 2) {
      const lower = (raw[i] as string).toLowerCase();
      if (lower === 'transfer-encoding') chunked = true;
      if (!HOP_BY_HOP.has(lower)) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    head += chunked ? 'transfer-encoding: chunked\r\n\r\n' : '\r\n';
    pieces = [Buffer.from(head, 'latin1')];
  };
  response[HTTPParser.kOnBody] = (body: Buffer) => {
    // The parser hands out a view of its input buffer, valid only during the call.
    if (chunked) pieces.push(Buffer.from(`${body.length.toString(16)}\r\n`), Buffer.from(body), CRLF);
    else pieces.push(Buffer.from(body));
  };
  response[HTTPParser.kOnMessageComplete] = () => {
    if (chunked) pieces.push(LAST_CHUNK);
    client.write(pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces));
    pieces = [];
  };

  client.on('data', (chunk: Buffer) => {
    if (request.execute(chunk) instanceof Error) client.destroy();
  });
  client.on('error', () => upstream?.destroy());
  client.on('close', () => upstream?.destroy());
}
