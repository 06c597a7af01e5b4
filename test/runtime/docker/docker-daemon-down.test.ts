import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SteadyTraffic } from '../../../examples/demo/steady-traffic.js';
import type { ServiceStatus } from '../../../src/controller/service-status.js';
import { startDockerDaemon, type DockerDaemon } from '../../support/docker-daemon.js';
import { sampleService, startDockerHarness, type DockerHarness } from '../../support/docker-harness.js';
import { waitForContainerExit } from '../../../src/runtime/docker/container-state.js';
import { loadSampleImage, SAMPLE_IMAGE } from '../../support/docker-test-image.js';
import { operate, versionAt } from '../../support/operations.js';

// The Docker daemon goes away mid-life (an upgrade, a crash): with live
// restore its containers keep running. A deploy meanwhile fails with a clear
// error naming the daemon, and the running release serves on, without a
// failed request; once the daemon is back, the same deploy goes through.
let daemon: DockerDaemon;
let h: DockerHarness;

before(async () => {
  daemon = await startDockerDaemon({ liveRestore: true });
  await loadSampleImage(daemon, [{ tag: 'v1' }, { tag: 'v2' }]);
  h = await startDockerHarness(daemon, [
    sampleService('web', 'instances: 2\nstrategy: { type: blue-green, auto_switch: true, timeout: 20s }'),
  ]);
  const first = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
  assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
});

after(async () => {
  await h?.close();
  await daemon?.stop();
});

describe('a Docker daemon that cannot be reached', () => {
  it('fails the deploy naming the daemon, and the running containers serve on; after it is back the deploy goes through', async () => {
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 50,
      connections: 4,
      maxDurationMs: 60_000,
    }).start();
    try {
      await daemon.kill();
      const failed = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
      assert.equal(failed.operation.outcome, 'failed');
      assert.equal(failed.operation.error?.code, 'INSTANCE_START_FAILED');
      assert.ok(
        failed.operation.error?.message.includes(`the Docker daemon at ${daemon.host} cannot be reached`),
        failed.operation.error?.message,
      );
      await traffic.waitForAnswers(25);
      assert.deepEqual(await versionAt(h.proxyUrl, 'web.localhost'), { status: 200, version: 'v1' });
      const status = await h.client.request<ServiceStatus>('GET', '/api/v1/services/web');
      assert.equal(status.active?.version, 'v1');
      assert.equal(status.active?.running, '2/2');

      await daemon.restart();
      const deployed = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
      assert.equal(deployed.operation.outcome, 'succeeded', JSON.stringify(deployed.operation.error));
      assert.deepEqual(await versionAt(h.proxyUrl, 'web.localhost'), { status: 200, version: 'v2' });
    } finally {
      const summary = await traffic.stop();
      assert.equal(summary.failed, 0, `failed while the daemon was down: ${summary.firstErrors.join('; ')}`);
    }
  });
});

describe('a container that exits after the daemon came back', () => {
  it('is seen exiting, though the wait request sent before the restart never answers', async () => {
    const container = await daemon.docker.createContainer({
      Image: `${SAMPLE_IMAGE}:v1`,
      Env: ['PORT=0', 'HOST=127.0.0.1', 'APP_VERSION=v1'],
      HostConfig: { NetworkMode: 'host' },
    });
    await container.start();
    let givenUp = false;
    const exit = waitForContainerExit(container, () => givenUp);
    try {
      await daemon.kill();
      await daemon.restart();
      await container.kill();
      // Bounded: before, this waited forever (the first wait request neither answers nor fails).
      const seen = await Promise.race([
        exit,
        new Promise<'never'>((resolve) => setTimeout(() => resolve('never'), 15_000).unref()),
      ]);
      assert.equal(seen, 137, 'the exit status of a container killed with SIGKILL');
    } finally {
      givenUp = true;
      await container.remove({ force: true }).catch(() => undefined);
    }
  });
});
