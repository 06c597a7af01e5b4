import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { routerEdgeContract } from './router-edge-contract.js';

// The embedded proxy against the edge table nginx runs too (nginx-edge-contract.test.ts), h2 included.
routerEdgeContract({
  name: 'embedded proxy',
  setup: async () => {
    const router = await ProxyRouter.listen({
      host: '127.0.0.1',
      port: 0,
      https: { host: '127.0.0.1', port: 0 },
      redirectHttp: true,
    });
    const secure = router.tlsAddress;
    if (secure === null) throw new Error('the proxy did not open its TLS listener');
    return { router, plain: router.address, secure, close: () => router.close() };
  },
});
