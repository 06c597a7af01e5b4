// A small real HTTP service used by the demo, the tests and the benchmark.
// It answers with the version that served the request, so a test can prove
// traffic moved. A version name can ask for a broken build, the way a bad
// release would behave in real life:
//   *unhealthy*  /health answers 500 forever
//   *crash*      exits with status 1 right after start
//   *noport*     runs but never opens its port
//   *slowstart*  opens its port after SLOW_START_MS (default 3000 ms)
//   *badsmoke*   /ready answers 500 (it passes /health but fails a smoke check)
//   *errorsNN*   answers 500 to NN% of requests on / (e.g. v2-errors20), a bad release that passes /health
//   *delayNN*    answers / after NN ms (e.g. v2-delay40), a slow release that passes /health
//   *unhealthy-at-N*  only instance N (INSTANCE=N) fails /health, e.g. a bad host or shard in a rolling update
//   *portNNNN*   listens on port NNNN instead of $PORT, like an app with a hard-coded port (e.g. v2-port8080)
//   *chatty*     writes a 1 KiB log line every 5 ms (about 200 KiB/s), for log rotation
// GET /stats answers how many requests this instance served on its app paths, and how many of them were
// cutover's synthetic analysis load (header X-Cutover-Synthetic: 1), as an app keeps those out of its metrics.
// POST /admin/health with body "fail" or "ok" turns /health of this one
// instance bad or good, to show an instance leaving and rejoining the rotation.
// POST /admin/close-port closes the listening port but keeps the process
// running: a hung app that never exits, which only a liveness restart cures.
import http from 'node:http';

const version = process.env.APP_VERSION ?? 'dev';
const port = Number(/port(\d+)/.exec(version)?.[1] ?? process.env.PORT ?? 3000);
const instance = process.env.INSTANCE ?? '0';
const host = process.env.HOST ?? '127.0.0.1';

if (version.includes('crash')) {
  console.error(`sample-app ${version}: simulated crash at start`);
  process.exit(1);
}
if (version.includes('chatty')) {
  const line = `sample-app ${version} instance ${instance}: ${'x'.repeat(1000)}`;
  let n = 0;
  setInterval(() => {
    console.log(`${n++} ${line}`);
  }, 5);
}
if (version.includes('noport')) {
  console.log(`sample-app ${version}: running without opening a port`);
  setInterval(() => {}, 1 << 30);
} else {
  const body = JSON.stringify({ version, instance, pid: process.pid });
  let healthOverride = true;
  const errorShare = Number(/errors(\d+)/.exec(version)?.[1] ?? 0) / 100;
  const answerDelayMs = Number(/delay(\d+)/.exec(version)?.[1] ?? 0);
  let served = 0;
  let synthetic = 0;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/health') {
      const only = /unhealthy-at-(\d+)/.exec(version)?.[1];
      const ok = (only !== undefined ? only !== instance : !version.includes('unhealthy')) && healthOverride;
      res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok' : 'unhealthy');
      return;
    }
    if (url === '/ready') {
      const ok = !version.includes('badsmoke');
      res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' });
      res.end(ok ? 'ready' : 'not ready');
      return;
    }
    if (url === '/admin/health' && req.method === 'POST') {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => {
        healthOverride = text.trim() !== 'fail';
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(healthOverride ? 'health ok' : 'health failing');
      });
      return;
    }
    if (url === '/admin/close-port' && req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
      res.end('closing the port, staying alive');
      // Keep the process alive once the server no longer holds the event loop open.
      setInterval(() => {}, 1 << 30);
      server.close();
      server.closeIdleConnections?.();
      console.log(`sample-app ${version} instance ${instance} closed its port and keeps running`);
      return;
    }
    if (url.startsWith('/slow')) {
      const ms = Number(new URL(url, 'http://x').searchParams.get('ms') ?? 5000);
      const timer = setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ version, instance, sleptMs: ms }));
      }, ms);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    if (url === '/headers') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ version, headers: req.headers }));
      return;
    }
    if (url === '/echo' && req.method === 'POST') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-version': version });
        res.end(Buffer.concat(chunks));
      });
      return;
    }
    if (url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ version, instance, served, synthetic }));
      return;
    }
    if (req.headers['x-cutover-synthetic'] === '1') synthetic += 1;
    // Deterministic share of failures: every request whose running count falls in the bad share fails.
    served += 1;
    if (errorShare > 0 && Math.floor(served * errorShare) !== Math.floor((served - 1) * errorShare)) {
      res.writeHead(500, { 'content-type': 'application/json', 'x-version': version });
      res.end(JSON.stringify({ version, instance, error: 'simulated failure' }));
      return;
    }
    if (answerDelayMs > 0) {
      const timer = setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-version': version });
        res.end(body);
      }, answerDelayMs);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-version': version });
    res.end(body);
  });
  // WebSocket echo on /ws: every message comes back prefixed with the version. `ws` is loaded on the first
  // upgrade: most instances never get one, and loading it took a third of the app's start-up CPU.
  let wss = null;
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    import('ws').then(({ WebSocketServer }) => {
      if (wss === null) {
        wss = new WebSocketServer({ noServer: true, path: '/ws' });
        wss.on('connection', (ws) => {
          ws.on('message', (data) => ws.send(`${version}:${data.toString()}`));
        });
      }
      // A path other than /ws gets 400 from ws, as it did when ws was attached to the server.
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
  });
  server.keepAliveTimeout = 65_000;
  const delay = version.includes('slowstart') ? Number(process.env.SLOW_START_MS ?? 3000) : 0;
  setTimeout(() => {
    server.listen(port, host, () =>
      console.log(`sample-app ${version} instance ${instance} listening on ${host}:${port}`),
    );
  }, delay);
  const shutdown = () => {
    // Stop accepting, let in-flight requests finish, then exit: a well-behaved app.
    server.close(() => process.exit(0));
    server.closeIdleConnections?.();
    for (const client of wss?.clients ?? []) client.close(1001, 'shutting down');
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
