import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Pool } from 'undici';
import type { ServiceRoute } from '../../../src/router/index.js';
import { HaproxyRouter } from '../../../src/router/haproxy/haproxy-router.js';
import { HaproxyRuntimeApi } from '../../../src/router/haproxy/haproxy-runtime-api.js';
import { runningMasterPid, stopMaster } from '../../../src/router/haproxy/haproxy-process.js';
import { freePort } from '../proxy-fixtures.js';
import { HttpBackends } from '../router-contract-http.js';
import type { ContractBackend } from '../router-contract-types.js';

/**
 * HAProxy outlives cutover: a new run adopts the running master with the
 * state the last run saved, touching nothing when they agree (the same
 * worker serves, a kept-alive client connection carries on), and reloading
 * from the saved state when HAProxy was changed behind its back.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-adopt-'));
const backends = new HttpBackends();
let pidFile = '';

after(async () => {
  const pid = runningMasterPid(pidFile);
  if (pid !== null) await stopMaster(pid);
  await backends.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function route(releaseId: string, backend: ContractBackend): ServiceRoute {
  return {
    service: 'web',
    hosts: ['web.test'],
    default: false,
    target: {
      releaseId,
      version: releaseId,
      slot: 'blue',
      upstreams: [backend.upstream(`web/${releaseId}/${backend.name}`)],
    },
  };
}

describe('HaproxyRouter adopts a running HAProxy', () => {
  it('serves on through a restart of cutover, and a tampered state is repaired by one reload', async () => {
    const [b1, b2] = [await backends.newBackend(), await backends.newBackend()];
    const listen = { host: '127.0.0.1', port: await freePort() };
    const first = await HaproxyRouter.start({ listen, stateDir: dir });
    pidFile = first.pidFile;
    const api = new HaproxyRuntimeApi({ socketPath: first.socketPath });
    await first.setRoute(route('r1', b1));
    const client = new Pool(`http://127.0.0.1:${listen.port}`, { connections: 1 });
    const backendOf = async (): Promise<string | undefined> => {
      const response = await client.request({ path: '/', method: 'GET', headers: { host: 'web.test' } });
      await response.body.text();
      return response.headers['x-backend'] as string | undefined;
    };
    try {
      assert.equal(await backendOf(), b1.name);
      const worker = (await api.showInfo()).get('Pid');
      await first.detach();
      assert.equal(await backendOf(), b1.name, 'HAProxy serves on while no cutover runs');

      const second = await HaproxyRouter.start({ listen, stateDir: dir });
      assert.equal((await api.showInfo()).get('Pid'), worker, 'adopted without a reload');
      await second.setRoute(route('r2', b2));
      assert.equal(await backendOf(), b2.name, 'the kept-alive connection reaches the new release');
      assert.deepEqual(await second.drain('web', 'r1', 5_000), { drained: true, closed: 0 });
      assert.equal((await api.showInfo()).get('Pid'), worker, 'a switch and a drain reload nothing');
      await second.detach();

      // Someone points the service back at r1's slot behind cutover's back.
      const routes = await api.showMap(path.join(dir, 'haproxy-routes.map'));
      const value = routes.get('web') ?? '';
      await api.change(['set', 'map', path.join(dir, 'haproxy-routes.map'), 'web', value.replace(/_1:/g, '_0:')]);
      const third = await HaproxyRouter.start({ listen, stateDir: dir });
      assert.notEqual((await api.showInfo()).get('Pid'), worker, 'the differing state was reloaded');
      assert.equal((await api.showMap(path.join(dir, 'haproxy-routes.map'))).get('web'), value);
      for (let i = 0; i < 3; i++) assert.equal(await backendOf(), b2.name);
      await third.close();
      assert.equal(runningMasterPid(pidFile), null, 'close stops HAProxy');
    } finally {
      await client.close();
    }
  });
});
