import fs from 'node:fs';
import path from 'node:path';
import { NginxRouter } from '../../src/router/nginx/nginx-router.js';
import { startNginxServer } from '../support/nginx-server.js';
import { freePort } from './proxy-fixtures.js';
import { routerContract } from './router-contract.js';
import { HttpBackends, httpContractClient } from './router-contract-http.js';

routerContract({
  name: 'nginx',
  setup: async () => {
    const nginx = await startNginxServer();
    const listen = { host: '127.0.0.1', port: await freePort() };
    const backends = new HttpBackends();
    let router: NginxRouter;
    try {
      router = await NginxRouter.attach({
        mainConfig: nginx.mainConfig,
        includeFile: nginx.includeFile,
        listen,
        stateDir: path.join(nginx.dir, 'state'),
      });
    } catch (error) {
      await nginx.stop();
      throw error;
    }
    return {
      router,
      client: httpContractClient(listen, backends),
      newBackend: () => backends.newBackend(),
      // A colleague's typo in the team's own file: nginx -t fails whatever cutover renders.
      refuseNextConfig: () => {
        const teamConfig = fs.readFileSync(nginx.teamFile, 'utf8');
        fs.appendFileSync(nginx.teamFile, 'proxy_buffering onn;\n');
        return Promise.resolve(() => {
          fs.writeFileSync(nginx.teamFile, teamConfig);
          return Promise.resolve();
        });
      },
      close: async () => {
        await router.close();
        await nginx.stop();
        await backends.close();
      },
    };
  },
  skip: {
    websocket:
      'the rendered location sends `Connection ""` and no Upgrade header (for upstream keep-alive), so nginx does not proxy WebSocket upgrades; and its drain cannot close one release’s connections (docs/nginx-router.md)',
  },
});
