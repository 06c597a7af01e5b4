import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DockerServiceConfig } from '../../../src/config/types.js';
import { DockerRuntime } from '../../../src/runtime/docker/docker-runtime.js';
import type { InstanceSpec, Runtime } from '../../../src/runtime/index.js';
import type { DockerDaemon } from '../../support/docker-daemon.js';
import { loadSampleImage, SAMPLE_IMAGE } from '../../support/docker-test-image.js';
import { httpHealthProbe, runtimeContract } from '../runtime-contract.js';

/**
 * The Runtime contract on containers of a real Docker daemon, host
 * networking on loopback. It runs on the daemon of the file that calls it
 * (docker-runtime.test.ts), so the suite costs no daemon of its own. A
 * restarted controller is a second runtime with the same owner label over
 * the same log directory.
 */
export function dockerRuntimeContract(daemonOf: () => DockerDaemon): void {
  let blocker: net.Server | undefined;
  let logDir: string | undefined;
  const settings: DockerServiceConfig = {
    image: `${SAMPLE_IMAGE}:\${VERSION}`,
    pull: 'never',
    network: 'host',
    containerPort: null,
    cpus: null,
    memoryBytes: null,
    labels: {},
  };
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
    name: 'docker',
    async setup() {
      const daemon = daemonOf();
      blocker = net.createServer();
      await new Promise<void>((resolve) => blocker?.listen(0, '127.0.0.1', resolve));
      const blockedPort = (blocker.address() as net.AddressInfo).port;
      // v6-portNNNN binds NNNN whatever $PORT says; host networking shares the host's ports.
      await loadSampleImage(daemon, [{ tag: 'c1' }, { tag: `v6-port${blockedPort}` }]);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-docker-contract-'));
      logDir = dir;
      return {
        newRuntime: (previous) => {
          const owner = (previous && owners.get(previous)) ?? `contract-${++runtimes}`;
          const runtime = new DockerRuntime({
            docker: daemon.docker,
            daemonHost: daemon.host,
            owner,
            settingsFor: () => settings,
            logDir: dir,
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
          await daemon.docker.getContainer(info.pidToken as string).kill();
        },
        patienceMs: 30_000,
      };
    },
    async teardown() {
      await new Promise((resolve) => blocker?.close(resolve));
      if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
    },
  });
}
