import path from 'node:path';
import { NginxRouter } from '../../src/router/nginx/nginx-router.js';
import { startNginxServer } from '../support/nginx-server.js';
import { freePort } from './proxy-fixtures.js';
import { routerEdgeContract } from './router-edge-contract.js';

// nginx renders the same edge as the embedded proxy (proxy-edge-contract.test.ts runs the same table).
routerEdgeContract({
  name: 'nginx',
  setup: async () => {
    const nginx = await startNginxServer();
    const plain = { host: '127.0.0.1', port: await freePort() };
    const secure = { host: '127.0.0.1', port: await freePort() };
    try {
      const router = await NginxRouter.attach({
        mainConfig: nginx.mainConfig,
        includeFile: nginx.includeFile,
        listen: plain,
        https: secure,
        redirectHttp: true,
        stateDir: path.join(nginx.dir, 'state'),
      });
      return {
        router,
        plain,
        secure,
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
