import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HaproxyRouter } from '../../src/router/haproxy/haproxy-router.js';
import { haproxyInstalled } from '../support/haproxy-server.js';
import { freePort } from './proxy-fixtures.js';
import { routerContract } from './router-contract.js';
import { HttpBackends, httpContractClient } from './router-contract-http.js';

routerContract({
  name: 'haproxy',
  setup: async () => {
    // Loud, like nginx's: a missing haproxy is a broken machine, not a reason to skip.
    if (!haproxyInstalled())
      throw new Error('haproxy not found: apt-get install -y haproxy (scripts/install-test-servers.sh)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-'));
    const listen = { host: '127.0.0.1', port: await freePort() };
    const backends = new HttpBackends();
    let router: HaproxyRouter;
    try {
      router = await HaproxyRouter.start({ listen, stateDir: dir });
    } catch (error) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return {
      router,
      client: httpContractClient(listen, backends),
      newBackend: () => backends.newBackend(),
      // The Runtime API out of reach (a socket moved away): every change fails, what serves stays.
      refuseNextConfig: () => {
        const moved = `${router.socketPath}.away`;
        fs.renameSync(router.socketPath, moved);
        return Promise.resolve(() => {
          fs.renameSync(moved, router.socketPath);
          return Promise.resolve();
        });
      },
      close: async () => {
        await router.close();
        await backends.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
