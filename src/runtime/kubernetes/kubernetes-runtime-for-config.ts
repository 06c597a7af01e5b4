import type { CutoverConfig, ServiceConfig } from '../../config/types.js';
import { ownerOf } from '../docker/docker-runtime-for-config.js';
import type { RuntimeLogger } from '../process/process-runtime.js';
import type { KubernetesClient } from './kubernetes-client.js';
import type { KubernetesRuntime } from './kubernetes-runtime.js';

/**
 * The kubernetes runtime of a config, or null when no service runs on
 * Kubernetes (the client library is not even loaded then). One client per
 * kubeconfig and context, shared by the services that name them.
 */
export async function kubernetesRuntimeForConfig(
  config: CutoverConfig,
  options: { logDir: string; logger?: RuntimeLogger; env: NodeJS.ProcessEnv },
): Promise<KubernetesRuntime | null> {
  if (!Object.values(config.services).some((service) => service.runtime === 'kubernetes')) return null;
  const [{ kubernetesClient }, { KubernetesRuntime }] = await Promise.all([
    import('./kubernetes-client.js'),
    import('./kubernetes-runtime.js'),
  ]);
  const clients = new Map<string, KubernetesClient>();
  const clientFor = (service: ServiceConfig): KubernetesClient => {
    const settings = {
      kubeconfig: service.kubernetes?.kubeconfig ?? null,
      context: service.kubernetes?.context ?? null,
    };
    const key = `${settings.kubeconfig ?? ''}\u0000${settings.context ?? ''}`;
    let client = clients.get(key);
    if (!client) clients.set(key, (client = kubernetesClient(settings, options.env)));
    return client;
  };
  return new KubernetesRuntime({
    owner: ownerOf(config.server.stateDir),
    serviceFor: (service) => config.services[service],
    clientFor,
    logDir: options.logDir,
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
