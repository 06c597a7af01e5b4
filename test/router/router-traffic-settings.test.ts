import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONFIG_DEFAULTS } from '../../src/config/config-defaults.js';
import { HaproxyRouter } from '../../src/router/haproxy/haproxy-router.js';
import type { Router, ServiceRoute } from '../../src/router/index.js';
import { NginxRouter } from '../../src/router/nginx/nginx-router.js';
import type { RouterTrafficSettings } from '../../src/router/router-traffic-settings.js';
import { haproxyInstalled } from '../support/haproxy-server.js';
import { startNginxServer } from '../support/nginx-server.js';
import { freePort } from './proxy-fixtures.js';

/**
 * `services.<name>.timeouts` and `server.client_timeouts` reach nginx and
 * HAProxy, not only the embedded proxy. Before, both routers kept their own
 * 60 s whatever cutover.yaml said: an instance that never answered held a
 * request for a minute behind a `response_headers: 1s`, and a client trickling
 * its head kept its connection past `headers`.
 */

const TRAFFIC: RouterTrafficSettings = {
  clientHeadersTimeoutMs: 1_000,
  clientKeepAliveTimeoutMs: 65_000,
  maxConnections: 1_000,
  services: {
    web: { ...CONFIG_DEFAULTS.traffic, responseHeadersTimeoutMs: 800, idleTimeoutMs: 800 },
  },
};

/** Answers /slow after 20 s (never, for these tests) and anything else at once. */
function slowApp(): Promise<{ port: number; close: () => Promise<void> }> {
  const held = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    if (req.url === '/slow') {
      held.add(res);
      const timer = setTimeout(() => res.end('late'), 20_000);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    res.end('ok');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const res of held) res.destroy();
            server.closeAllConnections();
            server.close(() => done());
          }),
      }),
    );
  });
}

function route(port: number): ServiceRoute {
  return {
    service: 'web',
    hosts: ['web.test'],
    default: true,
    target: { releaseId: 'r1', version: 'v1', slot: 'blue', upstreams: [{ id: 'web-1', host: '127.0.0.1', port }] },
  };
}

function get(port: number, pathName: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: pathName, headers: { host: 'web.test' }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
  });
}

/** Sends half a request head and resolves with how long the router kept the connection open. */
function trickleHead(port: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: web.test\r\n'));
    socket.setTimeout(30_000, () => {
      socket.destroy();
      reject(new Error('the connection was still open after 30 s'));
    });
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => resolve(performance.now() - started));
  });
}

function routerSuite(
  name: string,
  start: (listen: { host: string; port: number }) => Promise<{ router: Router; close: () => Promise<void> }>,
): void {
  describe(`${name} applies cutover.yaml's timeouts`, () => {
    let app: Awaited<ReturnType<typeof slowApp>>;
    let running: { router: Router; close: () => Promise<void> };
    let port: number;

    before(async () => {
      app = await slowApp();
      port = await freePort();
      running = await start({ host: '127.0.0.1', port });
      await running.router.setRoute(route(app.port));
      assert.equal((await get(port, '/')).status, 200);
    });

    after(async () => {
      await running?.close();
      await app?.close();
    });

    it('answers 504 once an instance is silent for the service’s response timeout, not the router’s 60 s', async () => {
      const answer = await get(port, '/slow');
      assert.equal(answer.status, 504);
      // The default (60 s) would have kept the request past the app's 20 s answer (a 200).
      assert.ok(answer.ms < 15_000, `answered after ${Math.round(answer.ms)} ms`);
    });

    it('closes a connection whose head does not arrive within client_timeouts.headers', async () => {
      const openMs = await trickleHead(port);
      // The default (10 s for cutover, 60 s for nginx) would have kept it open at least that long.
      assert.ok(openMs < 8_000, `closed after ${Math.round(openMs)} ms`);
    });
  });
}

routerSuite('haproxy', async (listen) => {
  if (!haproxyInstalled())
    throw new Error('haproxy not found: apt-get install -y haproxy (scripts/install-test-servers.sh)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-traffic-'));
  const router = await HaproxyRouter.start({ listen, stateDir: dir, traffic: TRAFFIC });
  return {
    router,
    close: async () => {
      await router.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

routerSuite('nginx', async (listen) => {
  const nginx = await startNginxServer();
  const router = await NginxRouter.attach({
    mainConfig: nginx.mainConfig,
    includeFile: nginx.includeFile,
    listen,
    stateDir: path.join(nginx.dir, 'state'),
    traffic: TRAFFIC,
  });
  return {
    router,
    close: async () => {
      await router.close();
      await nginx.stop();
    },
  };
});
