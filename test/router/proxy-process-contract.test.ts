import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectOrStartProxy } from '../../src/router/proxy-process/proxy-process-launcher.js';
import { proxyProcessOptions } from '../../src/router/proxy-process/proxy-process-options.js';
import { routerContract } from './router-contract.js';
import { HttpBackends, httpContractClient } from './router-contract-http.js';

// The proxy as a process of its own (what `cutover server` runs): the same
// promises as the embedded proxy, kept over the control socket; with two
// workers, kept by two processes accepting on one socket.
for (const workers of [1, 2])
  routerContract({
    name: workers === 1 ? 'proxy process' : `proxy process, ${workers} workers`,
    setup: async () => {
      const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-proxy-process-'));
      const router = await connectOrStartProxy({
        stateDir,
        options: proxyProcessOptions({ host: '127.0.0.1', port: 0 }, workers, 'test'),
      });
      const backends = new HttpBackends();
      return {
        router,
        client: httpContractClient(router.address, backends),
        newBackend: () => backends.newBackend(),
        close: async () => {
          await router.close();
          await backends.close();
          fs.rmSync(stateDir, { recursive: true, force: true });
        },
      };
    },
    skip: {
      refused:
        'the proxy process applies a route with the embedded proxy: one that builds (conflicts reject CONFIG_INVALID, see the invalid case) always applies',
    },
  });
