import path from 'node:path';
import { NginxRouter } from '../../src/router/nginx/nginx-router.js';
import { startNginxServer } from '../support/nginx-server.js';
import { freePort } from './proxy-fixtures.js';
import { clientAddressContract } from './router-client-address-contract.js';

// A real nginx: its realip module names the client (render-nginx-config.ts clientAddressLines).
clientAddressContract({
  name: 'nginx',
  setup: async (trustedProxies) => {
    const nginx = await startNginxServer();
    const address = { host: '127.0.0.1', port: await freePort() };
    try {
      const router = await NginxRouter.attach({
        mainConfig: nginx.mainConfig,
        includeFile: nginx.includeFile,
        listen: address,
        stateDir: path.join(nginx.dir, 'state'),
        trustedProxies,
      });
      return {
        router,
        address,
        close: async () => {
          await router.close();
          await nginx.stop();
        },
      };
    } catch (error) {
      await nginx.stop();
      throw error;
    }
  },
});
