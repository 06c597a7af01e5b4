import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../../src/config/load-config.js';
import type { InstanceSpec, Runtime } from '../../../src/runtime/index.js';
import { SwarmRuntime } from '../../../src/runtime/swarm/swarm-runtime.js';
import type { DockerDaemon } from '../../support/docker-daemon.js';
import { dockerConfigYaml } from '../../support/docker-harness.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { swarmService } from '../../support/swarm-daemon.js';
import { httpHealthProbe, runtimeContract } from '../runtime-contract.js';

/**
 * The Runtime contract on the tasks of a real single-node Swarm. It runs on
 * the swarm of the file that calls it (swarm-deploys.test.ts): only one swarm
 * may run on the host at a time, so a file of its own had to wait for the
 * other's turn. Each release is a Swarm service, so the cases cost a service
 * each; a restarted controller is a second runtime with the same owner label.
 */
export function swarmRuntimeContract(daemonOf: () => DockerDaemon): void {
  let blocker: net.Server | undefined;
  let dir: string | undefined;
  const spec = (releaseId: string, index: number, version = 'c1'): InstanceSpec => ({
    service: 'contract',
    releaseId,
    version,
    slot: 'blue',
    index,
    command: '',
    cwd: '',
    env: {},
    stopGracePeriodMs: 3_000,
  });
  // The owner label each runtime was made with: a restart keeps it, a new
  // runtime gets its own (adopt removes what its owner does not record).
  const owners = new WeakMap<Runtime, string>();
  let runtimes = 0;

  runtimeContract({
    name: 'swarm',
    skip: {
      'adopt-refuses-token':
        'Swarm replaces a dead task by itself, also while the controller is down: the running task of the slot is the instance, ' +
        'so a record whose container id differs is taken back on the new task rather than refused (see SwarmRuntime.adopt)',
    },
    async setup() {
      const swarm = daemonOf();
      blocker = net.createServer();
      await new Promise<void>((resolve) => blocker?.listen(0, '127.0.0.1', resolve));
      const blockedPort = (blocker.address() as net.AddressInfo).port;
      // v6-portNNNN binds NNNN whatever $PORT says; the tasks share the host's network.
      await loadSampleImage(swarm, [{ tag: 'c1' }, { tag: `v6-port${blockedPort}` }]);
      const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-swarm-contract-'));
      dir = stateDir;
      const config = parseConfig(
        dockerConfigYaml(swarm, stateDir, { proxy: 1, admin: 2 }, [swarmService('contract', 'instances: 2')]),
        null,
      );
      const logDir = path.join(stateDir, 'logs');
      return {
        newRuntime: (previous) => {
          const owner = (previous && owners.get(previous)) ?? `contract-${++runtimes}`;
          const runtime = new SwarmRuntime({
            docker: swarm.docker,
            daemonHost: swarm.host,
            owner,
            serviceFor: (name) => config.services[name],
            logDir,
            defaultStopGracePeriodMs: 3_000,
          });
          owners.set(runtime, owner);
          return runtime;
        },
        goodSpec: (releaseId, index) => spec(releaseId, index),
        failingSpec: (releaseId, index) => spec(releaseId, index, 'v404'),
        conflictSpec: (releaseId, index) => spec(releaseId, index, `v6-port${blockedPort}`),
        blockedPort,
        probe: (_runtime, info) => httpHealthProbe(info),
        crash: async (_runtime, info) => {
          await swarm.docker.getContainer(info.pidToken as string).kill();
        },
        patienceMs: 60_000,
      };
    },
    async teardown() {
      await new Promise((resolve) => blocker?.close(resolve));
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  });
}
