import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { routerContract } from './router-contract.js';
import { HttpBackends, httpContractClient } from './router-contract-http.js';

routerContract({
  name: 'embedded proxy',
  setup: async () => {
    const router = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
    const backends = new HttpBackends();
    return {
      router,
      client: httpContractClient(router.address, backends),
      newBackend: () => backends.newBackend(),
      close: async () => {
        await router.close();
        await backends.close();
      },
    };
  },
  skip: {
    refused:
      'the proxy applies a route in-process: one that builds (conflicts reject CONFIG_INVALID, see the invalid case) always applies, there is no later check to fail',
  },
});
