import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { CutoverError } from '../../src/core/errors.js';
import { SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';
import { operate } from '../support/operations.js';
import { eventually } from '../support/eventually.js';

/**
 * A person's promote, pause or resume is judged against the canary they
 * acted on. The runner queued a promote given while the canary's instances
 * were still starting, and applied it the moment step 1 began: step 1 (10%,
 * `pause: promote`) held its weight for a few milliseconds and the canary
 * went straight to 50%, its gate passed by a promote given before anyone
 * could have looked at it. Now each is refused with 409 INVALID_STATE while
 * the canary starts, and step 1 waits for a promote given at step 1.
 */
describe('canary commands given before the first step', () => {
  let h: Harness;
  const status = (): Promise<ServiceStatus> => h.client.request<ServiceStatus>('GET', '/api/v1/services/shop');

  before(async () => {
    h = await startHarness({
      instances: 1,
      extraServiceYaml: `  shop:
    hosts: [shop.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}", SLOW_START_MS: "2500" }
    health: { path: /health, interval: 200ms, healthy_threshold: 1, start_period: 10s }
    strategy:
      type: canary
      steps:
        - { weight: 10, pause: promote }
        - { weight: 50, pause: promote }
        - { weight: 100 }
      timeout: 20s
    drain_timeout: 1s
`,
    });
    const { operation } = await operate(h.client, '/api/v1/services/shop/deploy', { version: 'v1' });
    assert.equal(operation.outcome, 'succeeded');
  });

  after(async () => {
    await h?.close();
  });

  it('refuses promote, pause and resume while the canary starts, and step 1 then waits for its own promote', async () => {
    await h.client.request('POST', '/api/v1/services/shop/deploy', { version: 'v2-slowstart' });
    // The deploy answers once accepted; until its canary runs, a command finds no canary at all (also refused,
    // but with another message). The slow start keeps it waiting for health for 2.5 s.
    await eventually(async () => (await status()).canary?.phase === 'verifying', 'the canary starts', 10_000);
    for (const command of ['promote', 'pause', 'resume']) {
      await assert.rejects(
        h.client.request('POST', `/api/v1/services/shop/${command}`, {}),
        (error: unknown) =>
          error instanceof CutoverError &&
          error.code === 'INVALID_STATE' &&
          /waiting for its instances to become healthy/.test(error.message),
        `${command} while the canary starts`,
      );
    }
    let current: ServiceStatus | null = null;
    const reaches = (step: number) => async () => {
      current = await status();
      return current.canary?.step === step && current.canary.phase === 'paused';
    };
    await eventually(reaches(1), 'the canary waits at step 1', 15_000);
    assert.equal(current!.canary?.weight, 10, 'step 1 holds its weight');
    assert.equal(current!.canary?.pausedBy, 'step', 'step 1 waits for its promote');
    await h.client.request('POST', '/api/v1/services/shop/promote', {});
    await eventually(reaches(2), 'the canary waits at step 2', 15_000);
    assert.equal(current!.canary?.weight, 50);
    await h.client.request('POST', '/api/v1/services/shop/abort', {});
  });
});
