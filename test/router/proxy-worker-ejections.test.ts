import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { InstanceEjectionEvent } from '../../src/router/proxy/passive-health.js';
import { connectOrStartProxy } from '../../src/router/proxy-process/proxy-process-launcher.js';
import { proxyProcessOptions } from '../../src/router/proxy-process/proxy-process-options.js';
import type { RemoteProxyRouter } from '../../src/router/proxy-process/remote-proxy-router.js';
import { eventually } from '../support/eventually.js';

// Passive health runs in each proxy process on what that process sees. The
// controller hears of an ejection once, and of the instance's return when no
// process has it out any more, including when the worker that ejected it dies.
describe('ejections with two proxy processes', () => {
  let stateDir: string;
  let router: RemoteProxyRouter;
  const servers: http.Server[] = [];
  const events: InstanceEjectionEvent[] = [];

  async function backend(status: number): Promise<number> {
    const server = http.createServer((_req, res) => {
      res.writeHead(status);
      res.end(String(status));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-worker-ejections-'));
    const [good, bad] = await Promise.all([backend(200), backend(500)]);
    router = await connectOrStartProxy({
      stateDir,
      options: proxyProcessOptions(
        { host: '127.0.0.1', port: 0, upstreamPolicy: { passiveHealth: { consecutiveFailures: 2 } } },
        2,
        'test',
      ),
      onInstanceEjection: (event) => events.push(event),
    });
    await router.setRoute({
      service: 'web',
      hosts: ['web.test'],
      default: true,
      target: {
        releaseId: 'r1',
        version: 'v1',
        slot: 'blue',
        upstreams: [
          { id: 'good', host: '127.0.0.1', port: good },
          { id: 'bad', host: '127.0.0.1', port: bad },
        ],
      },
    });
  });

  after(async () => {
    await router.close();
    for (const server of servers) server.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('an instance only a worker ejected is reported back in rotation when that worker dies', async () => {
    const { pid, workerPids } = router.proxy;
    const worker = workerPids[0] as number;
    // With the main process stopped, the worker accepts every new connection: only it sees the failures.
    process.kill(pid, 'SIGSTOP');
    try {
      for (let i = 0; i < 8; i++) {
        const response = await request(`http://127.0.0.1:${router.address.port}/`, {
          headers: { host: 'web.test' },
          reset: true,
          signal: AbortSignal.timeout(5_000),
        });
        await response.body.text();
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually(() => events.some((e) => e.type === 'instance.ejected'), 'the ejection reported');
    assert.deepEqual(
      events.map((e) => [e.type, e.upstreamId]),
      [['instance.ejected', 'bad']],
      'one event, for the failing instance',
    );
    process.kill(worker, 'SIGKILL');
    await eventually(() => events.length === 2, 'its return reported');
    assert.deepEqual(events[1] && [events[1].type, events[1].upstreamId, events[1].service], [
      'instance.restored',
      'bad',
      'web',
    ]);
  });
});
