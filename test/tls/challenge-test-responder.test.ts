import { startChallengeTestResponder } from '../support/challenge-test-responder.js';
import { challengeResponderContract } from './challenge-responder-contract.js';

/** The issuer's test responder keeps the port's promises, so the pebble tests prove the issuer, not the stand-in. */
challengeResponderContract('test responder', async () => {
  const responder = await startChallengeTestResponder();
  return { responder, httpPort: responder.httpPort, tlsPort: responder.tlsPort, stop: () => responder.stop() };
});
