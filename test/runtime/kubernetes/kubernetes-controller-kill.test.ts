import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SteadyTraffic } from '../../../examples/demo/steady-traffic.js';
import { findFreePort } from '../../../src/runtime/process/free-port.js';
import { downServerProcess, runCli, startServerProcess, waitForExit } from '../../support/cli-process.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { sharedKubeCluster } from '../../support/kube-cluster-shared.js';
import type { KubeCluster } from '../../support/kube-cluster.js';
import type { KubeApiTarget } from '../../support/kube/kube-api.js';
import { createNamespace, deleteNamespace, sampleKubeService } from '../../support/kube/kube-test-service.js';
import { cutoverDeployments } from '../../support/kube/kube-deployments.js';
import { versionAt } from '../../support/operations.js';
import { proxyLogFor } from '../../support/proxy-log.js';

// Issue 21's acceptance: the controller killed (SIGKILL, the process, not a
// polite detach) in the middle of a Kubernetes deploy and started again. The
// proxy process keeps serving through it; the new controller finds the
// releases' Deployments again by label, serves on from the stable one, clears
// what the cut deploy left, and deploys again.
const namespace = `kill-${randomBytes(3).toString('hex')}`;

let cluster: KubeCluster;
let api: KubeApiTarget;
let dir: string;
let proxyPort: number;
let adminPort: number;
let server: ChildProcess | null = null;
const cli = (...args: string[]) => runCli(args, { cwd: dir, timeoutMs: 120_000 });

before(async () => {
  cluster = await sharedKubeCluster();
  api = { server: cluster.server, token: cluster.token, caPem: cluster.caPem };
  await loadSampleImage(cluster.docker, [{ tag: 'v1' }, { tag: 'v2' }, { tag: 'v3' }]);
  await createNamespace(api, namespace);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-kube-kill-'));
  proxyPort = await findFreePort();
  adminPort = await findFreePort();
  fs.writeFileSync(
    path.join(dir, 'cutover.yaml'),
    `server:
  proxy: 127.0.0.1:${proxyPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
  proxy_workers: 1
services:
${sampleKubeService({
  name: 'web',
  namespace,
  kubeconfig: cluster.kubeconfigPath,
  network: 'host',
  settings: 'instances: 2\nstrategy: { type: blue-green, auto_switch: true, timeout: 90s }',
})}
`,
  );
  server = await startServerProcess('cutover.yaml', dir, adminPort);
  const v1 = await cli('deploy', 'web', '--version', 'v1');
  assert.equal(v1.code, 0, v1.stderr);
});

after(async () => {
  try {
    if (dir) await downServerProcess(server, dir);
  } finally {
    if (api) await deleteNamespace(api, namespace);
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('the controller killed during a Kubernetes deploy', () => {
  it('SIGKILL once the new release’s Deployments exist, then a restart: 0 failed, the stable release adopted, the next deploy works', async (t) => {
    const stable = await cutoverDeployments(api, namespace, 'web');
    assert.deepEqual(
      stable.map((d) => d.release),
      ['web-1', 'web-1'],
    );
    const traffic = new SteadyTraffic({
      url: `http://127.0.0.1:${proxyPort}`,
      host: 'web.localhost',
      ratePerSecond: 200,
      connections: 8,
      maxDurationMs: 180_000,
      maxRequests: 36_000,
    }).start();
    try {
      await traffic.waitForAnswers(100);
      // The deploy's own CLI loses its server with it: what it says is not the point.
      const cut = cli('deploy', 'web', '--version', 'v2').catch(() => null);
      let begun = false;
      for (let i = 0; i < 300 && !begun; i++) {
        begun = (await cutoverDeployments(api, namespace, 'web')).some((d) => d.release === 'web-2');
        if (!begun) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(begun, 'the deploy made its Deployments');
      server!.kill('SIGKILL');
      await waitForExit(server!);
      server = null;
      await cut;
      await traffic.waitForAnswers(200);

      server = await startServerProcess('cutover.yaml', dir, adminPort);
      const status = JSON.parse((await cli('status', 'web', '--json')).stdout) as {
        active?: { releaseId: string; version: string; running: string };
      };
      assert.equal(status.active?.releaseId, 'web-1', 'the stable release is still the active one');
      assert.equal(status.active?.running, '2/2');
      const kept = (await cutoverDeployments(api, namespace, 'web')).filter((d) => d.release === 'web-1');
      assert.deepEqual(
        kept.map((d) => d.uid).sort(),
        stable.map((d) => d.uid).sort(),
        'the same Deployments, found again by label',
      );
      await traffic.waitForAnswers(200);
      assert.deepEqual(await versionAt(`http://127.0.0.1:${proxyPort}`, 'web.localhost'), {
        status: 200,
        version: 'v1',
      });

      const next = await cli('deploy', 'web', '--version', 'v3');
      assert.equal(next.code, 0, next.stderr);
      await traffic.waitForAnswers(200);
      assert.deepEqual(await versionAt(`http://127.0.0.1:${proxyPort}`, 'web.localhost'), {
        status: 200,
        version: 'v3',
      });
      // The cut deploy's release is not left running beside the others.
      let leftover = true;
      for (let i = 0; i < 150 && leftover; i++) {
        leftover = (await cutoverDeployments(api, namespace, 'web')).some((d) => d.release === 'web-2');
        if (leftover) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(leftover, false, 'the Deployments of the cut deploy were removed');
    } finally {
      const summary = await traffic.stop();
      t.diagnostic(`${summary.sent} sent, ${summary.failed} failed, ${JSON.stringify(summary.byVersion)}`);
      assert.equal(
        summary.failed,
        0,
        `failed across the kill: ${summary.firstErrors.slice(0, 3).join(' | ')}\n${proxyLogFor(path.join(dir, '.cutover'), summary.firstErrors)}`,
      );
    }
  });
});
