import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HaproxyRouter } from '../../src/router/haproxy/haproxy-router.js';
import { haproxyInstalled } from '../support/haproxy-server.js';
import { freePort } from './proxy-fixtures.js';
import { clientAddressContract } from './router-client-address-contract.js';

// A real HAProxy: the walk of X-Forwarded-For is rendered (render-haproxy-config.ts renderClientAddress).
clientAddressContract({
  name: 'haproxy',
  setup: async (trustedProxies) => {
    if (!haproxyInstalled())
      throw new Error('haproxy not found: apt-get install -y haproxy (scripts/install-test-servers.sh)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-'));
    const address = { host: '127.0.0.1', port: await freePort() };
    try {
      const router = await HaproxyRouter.start({ listen: address, stateDir: dir, trustedProxies });
      return {
        router,
        address,
        close: async () => {
          await router.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  },
  skip: {
    maintenance:
      'the haproxy router does not answer maintenance yet: `maintenance on` is refused with ROUTER_UNSUPPORTED',
  },
});
