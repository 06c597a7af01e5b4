import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import type { ServiceRoute } from '../../../src/router/index.js';
import { HaproxyRouter } from '../../../src/router/haproxy/haproxy-router.js';
import { HaproxyRuntimeApi } from '../../../src/router/haproxy/haproxy-runtime-api.js';
import { runningMasterPid, stopMaster } from '../../../src/router/haproxy/haproxy-process.js';
import { freePort } from '../proxy-fixtures.js';
import { HttpBackends } from '../router-contract-http.js';
import type { ContractBackend } from '../router-contract-types.js';

/**
 * Match rules beyond the contract's weight-0 case: a matching request goes
 * to the canary whatever side its sticky key is on at the weight, and the
 * rules outlive one canary (a service keeps its canary shape): after a
 * promotion a matching request reaches the stable release, the next canary
 * gets it again, and none of that reloads HAProxy (the same worker serves).
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-match-'));
const backends = new HttpBackends();
let pidFile = '';

after(async () => {
  const pid = runningMasterPid(pidFile);
  if (pid !== null) await stopMaster(pid);
  await backends.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const MATCH = [
  { header: 'X-Canary', value: 'always' },
  { cookie: 'beta', value: '1' },
];

function target(releaseId: string, backend: ContractBackend) {
  return {
    releaseId,
    version: releaseId,
    slot: 'blue' as const,
    upstreams: [backend.upstream(`web/${releaseId}/${backend.name}`)],
  };
}

function route(stable: [string, ContractBackend], canary: [string, ContractBackend, number] | null): ServiceRoute {
  return {
    service: 'web',
    hosts: ['web.test'],
    default: false,
    target: target(...stable),
    canary:
      canary === null
        ? null
        : {
            target: target(canary[0], canary[1]),
            weight: canary[2],
            stickiness: { by: 'header', name: 'X-User' },
            match: MATCH,
          },
  };
}

describe('HaproxyRouter match rules at any weight and across canaries', () => {
  it('a match beats the sticky side, reaches the stable after a promotion and the next canary after it, with no reload', async () => {
    const [b1, b2, b3] = [await backends.newBackend(), await backends.newBackend(), await backends.newBackend()];
    const listen = { host: '127.0.0.1', port: await freePort() };
    const router = await HaproxyRouter.start({ listen, stateDir: dir });
    pidFile = router.pidFile;
    const api = new HaproxyRuntimeApi({ socketPath: router.socketPath });
    const backendOf = async (headers: Record<string, string>): Promise<string | undefined> => {
      const response = await request(`http://127.0.0.1:${listen.port}/`, { headers: { host: 'web.test', ...headers } });
      await response.body.text();
      assert.equal(response.statusCode, 200);
      return response.headers['x-backend'] as string | undefined;
    };
    try {
      await router.setRoute(route(['r1', b1], ['r2', b2, 50]));
      const worker = (await api.showInfo()).get('Pid');
      // At 50 % some users stay on the stable release: those are the ones a match must move.
      const onStable: string[] = [];
      for (let i = 0; i < 40; i++)
        if ((await backendOf({ 'x-user': `user-${i}` })) === b1.name) onStable.push(`user-${i}`);
      assert.ok(onStable.length >= 5 && onStable.length <= 35, `about half stay on r1: ${onStable.length} of 40`);
      for (const user of onStable) {
        assert.equal(await backendOf({ 'x-user': user }), b1.name, 'sticky');
        assert.equal(await backendOf({ 'x-user': user, 'x-canary': 'always' }), b2.name, 'the header rule');
        assert.equal(await backendOf({ 'x-user': user, cookie: 'beta=1' }), b2.name, 'the cookie rule');
        assert.equal(await backendOf({ 'x-user': user, 'x-canary': 'never' }), b1.name, 'another value');
      }

      // Promotion: r2 is the stable release, no canary; a matching request has nowhere else to go.
      await router.setRoute(route(['r2', b2], null));
      for (const headers of [{}, { 'x-canary': 'always' }, { cookie: 'beta=1' }] as Record<string, string>[])
        assert.equal(await backendOf(headers), b2.name, JSON.stringify(headers));

      // The next canary, at weight 0: only matching requests reach it.
      await router.setRoute(route(['r2', b2], ['r3', b3, 0]));
      for (let i = 0; i < 5; i++) {
        assert.equal(await backendOf({ 'x-user': `user-${i}` }), b2.name);
        assert.equal(await backendOf({ 'x-user': `user-${i}`, 'x-canary': 'always' }), b3.name);
        assert.equal(await backendOf({ cookie: 'other=x; beta=1' }), b3.name);
      }
      assert.equal((await api.showInfo()).get('Pid'), worker, 'the rules stayed in the config: nothing reloaded');
    } finally {
      await router.close();
    }
  });
});
