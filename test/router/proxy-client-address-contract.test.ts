import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { clientAddressContract } from './router-client-address-contract.js';

// The embedded proxy, by which nginx and HAProxy are measured (nginx- and haproxy-client-address-contract.test.ts).
clientAddressContract({
  name: 'embedded proxy',
  setup: async (trustedProxies) => {
    const router = await ProxyRouter.listen({ host: '127.0.0.1', port: 0, trustedProxies });
    return { router, address: router.address, close: () => router.close() };
  },
});
