import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { RouterChallengeResponder } from '../../src/server/router-challenge-responder.js';
import { challengeResponderContract } from './challenge-responder-contract.js';

/** The embedded proxy answers ACME challenges itself, keeping the same promises as the issuer's test responder. */
challengeResponderContract('the embedded proxy', async () => {
  const proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0, https: { host: '127.0.0.1', port: 0 } });
  return {
    responder: new RouterChallengeResponder(proxy),
    httpPort: proxy.address.port,
    tlsPort: proxy.tlsAddress?.port ?? 0,
    stop: () => proxy.close(),
  };
});
