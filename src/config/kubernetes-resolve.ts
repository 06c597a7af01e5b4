import { CONFIG_DEFAULTS } from './config-defaults.js';
import type { RawService } from './config-schema.js';
import type { KubernetesServiceConfig } from './types.js';

/** The `kubernetes:` settings of a `runtime: kubernetes` service, defaulted (the checks made sure the map is there). */
export function resolveKubernetesService(
  raw: RawService,
  resolvePath: (file: string) => string,
): KubernetesServiceConfig {
  const settings = raw.kubernetes;
  const network = settings?.network ?? CONFIG_DEFAULTS.kubernetes.network;
  return {
    namespace: settings?.namespace ?? '',
    kubeconfig: settings?.kubeconfig === undefined ? null : resolvePath(settings.kubeconfig),
    context: settings?.context ?? null,
    network,
    containerPort: network === 'pod' ? (settings?.container_port ?? CONFIG_DEFAULTS.kubernetes.containerPort) : null,
    address: network === 'host' ? (settings?.address?.trim() ?? null) : null,
  };
}
