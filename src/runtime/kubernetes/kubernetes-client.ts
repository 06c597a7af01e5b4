import { AppsV1Api, AuthorizationV1Api, CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import type { KubernetesServiceConfig } from '../../config/types.js';
import { CutoverError } from '../../core/errors.js';

/** The API groups cutover uses, over one kubeconfig context. */
export interface KubernetesClient {
  apps: AppsV1Api;
  core: CoreV1Api;
  authorization: AuthorizationV1Api;
  version: VersionApi;
  /** The loaded kubeconfig, for what the generated API clients do not cover (following a pod's log). */
  kubeConfig: KubeConfig;
  /** The API server's address, for messages. */
  server: string;
  /** Where the credentials came from: a kubeconfig file and context, or the pod's service account. */
  source: string;
}

/**
 * The client of a service's `kubernetes:` settings. A kubeconfig path wins;
 * without one, cutover running in a pod (KUBERNETES_SERVICE_HOST set, no
 * KUBECONFIG) uses its service account, anything else the usual lookup
 * (KUBECONFIG, then ~/.kube/config). A context the kubeconfig lacks is a
 * config error, said before anything is deployed.
 */
export function kubernetesClient(
  settings: Pick<KubernetesServiceConfig, 'kubeconfig' | 'context'>,
  env: NodeJS.ProcessEnv,
): KubernetesClient {
  const config = new KubeConfig();
  let source: string;
  try {
    if (settings.kubeconfig !== null) {
      config.loadFromFile(settings.kubeconfig);
      source = settings.kubeconfig;
    } else if (env.KUBERNETES_SERVICE_HOST && !env.KUBECONFIG) {
      config.loadFromCluster();
      source = 'the in-cluster service account';
    } else {
      config.loadFromDefault();
      source = env.KUBECONFIG ?? '~/.kube/config';
    }
  } catch (error) {
    throw new CutoverError('CONFIG_INVALID', `Cannot load the kubeconfig: ${(error as Error).message}`, {
      hint: 'Check kubernetes.kubeconfig (or KUBECONFIG) names a readable kubeconfig file.',
    });
  }
  if (settings.context !== null) {
    if (!config.getContextObject(settings.context))
      throw new CutoverError('CONFIG_INVALID', `The kubeconfig ${source} has no context "${settings.context}".`, {
        hint: `Set kubernetes.context to one of: ${
          config
            .getContexts()
            .map((c) => c.name)
            .join(', ') || '(none)'
        }.`,
      });
    config.setCurrentContext(settings.context);
    source = `${source} (context ${settings.context})`;
  }
  const cluster = config.getCurrentCluster();
  if (!cluster)
    throw new CutoverError('CONFIG_INVALID', `The kubeconfig ${source} names no cluster for its current context.`, {
      hint: 'Set kubernetes.context, or the kubeconfig current-context.',
    });
  return {
    apps: config.makeApiClient(AppsV1Api),
    core: config.makeApiClient(CoreV1Api),
    authorization: config.makeApiClient(AuthorizationV1Api),
    version: config.makeApiClient(VersionApi),
    kubeConfig: config,
    server: cluster.server,
    source,
  };
}

/** The HTTP status of a failed API call (the client's ApiException), or null for a network error. */
export function apiStatus(error: unknown): number | null {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : null;
}

/** The API server's own message of a failed call (its Status body), else the error's. */
export function apiMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      if (body.trim()) return body.trim().slice(0, 300);
    }
  } else if (body && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.slice(0, 300) ?? message;
}
