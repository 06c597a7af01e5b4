import { kubeApi, kubeApiOk, type KubeApiTarget } from './kube-api.js';

/**
 * What the Kubernetes runtime's test files share: a namespace of their own
 * on the shared cluster, and the sample app as a service of a cutover.yaml.
 */
export async function createNamespace(api: KubeApiTarget, name: string): Promise<void> {
  await kubeApiOk(api, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** Deletes a namespace with all it holds; a test's cleanup, so a failure is not the test's verdict. */
export async function deleteNamespace(api: KubeApiTarget, name: string): Promise<void> {
  await kubeApi(api, 'DELETE', `/api/v1/namespaces/${name}`).catch(() => {});
}

/**
 * The sample app (image cutover-sample:<version>, loaded with loadSampleImage) as service `name` of a
 * cutover.yaml, indented to sit under `services:`; `settings` adds lines (instances, strategy, ...).
 * Host networking listens on 127.0.0.1 with a port per pod; the pod network on the given container port.
 */
export function sampleKubeService(options: {
  name: string;
  namespace: string;
  kubeconfig: string;
  network: 'host' | { containerPort: number };
  settings: string;
}): string {
  const network =
    options.network === 'host'
      ? 'network: host, address: 127.0.0.1'
      : `network: pod, container_port: ${options.network.containerPort}`;
  const extra = options.settings
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  return `  ${options.name}:
    hosts: [${options.name}.localhost]
    runtime: kubernetes
    image: cutover-sample:\${VERSION}
    pull: never
    health: { path: /health, interval: 500ms, timeout: 1s, unhealthy_threshold: 2, start_period: 5s }
    stop_grace_period: 3s
    drain_timeout: 2s
    kubernetes: { namespace: ${options.namespace}, kubeconfig: ${options.kubeconfig}, ${network} }
${extra}`;
}
