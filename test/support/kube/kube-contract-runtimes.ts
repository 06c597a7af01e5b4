import path from 'node:path';
import { parseConfig } from '../../../src/config/load-config.js';
import type { CutoverConfig } from '../../../src/config/types.js';
import type { InstanceSpec, Runtime } from '../../../src/runtime/index.js';
import type { KubernetesClient } from '../../../src/runtime/kubernetes/kubernetes-client.js';
import { KubernetesRuntime } from '../../../src/runtime/kubernetes/kubernetes-runtime.js';

/** The instance the Kubernetes contract runs start: service `contract` of the sample image at `version`. */
export function contractSpec(releaseId: string, index: number, version = 'c1'): InstanceSpec {
  return {
    service: 'contract',
    releaseId,
    version,
    slot: 'blue',
    index,
    command: '',
    cwd: '',
    env: {},
    stopGracePeriodMs: 3_000,
  };
}

/**
 * The runtimes of one contract run: each new one has an owner of its own,
 * except one made after `previous` (a restarted controller), which has its
 * owner, as the same state directory would.
 */
export function contractRuntimes(
  ownerPrefix: string,
  config: CutoverConfig,
  client: KubernetesClient,
  stateDir: string,
): (previous?: Runtime) => Runtime {
  const owners = new WeakMap<Runtime, string>();
  let made = 0;
  return (previous) => {
    const owner = (previous && owners.get(previous)) ?? `${ownerPrefix}-${++made}`;
    const runtime = new KubernetesRuntime({
      owner,
      serviceFor: (name) => config.services[name],
      clientFor: () => client,
      logDir: path.join(stateDir, 'logs'),
      defaultStopGracePeriodMs: 3_000,
    });
    owners.set(runtime, owner);
    return runtime;
  };
}

/**
 * The config of a contract run: service `contract`, 2 instances of the sample image; `lines` (indented
 * under the service) give its kubernetes settings and, for a release set, its strategy.
 */
export function contractConfig(stateDir: string, lines: string[]): CutoverConfig {
  const settings = lines.map((line) => `    ${line}`).join('\n');
  return parseConfig(
    `server: { state_dir: ${stateDir} }
services:
  contract:
    runtime: kubernetes
    image: cutover-sample:\${VERSION}
    pull: never
    instances: 2
    health: { path: /health, interval: 1s }
${settings}
`,
    null,
  );
}
