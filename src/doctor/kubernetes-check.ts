import type { CutoverConfig } from '../config/types.js';
import { CutoverError } from '../core/errors.js';
import { apiMessage, apiStatus, kubernetesClient } from '../runtime/kubernetes/kubernetes-client.js';
import type { CheckResult } from './check-result.js';

/**
 * What `runtime: kubernetes` needs in a namespace: the verbs of the minimal
 * Role in docs/kubernetes.md. Each is asked of the API server for the
 * credentials cutover will use (SelfSubjectAccessReview: any authenticated
 * user may ask about itself).
 */
export const KUBERNETES_PERMISSIONS: readonly {
  resource: string;
  subresource?: string;
  group: string;
  verbs: string[];
}[] = [
  // update: a release set's native RollingUpdate (and its undo) replaces the Deployment's template.
  { group: 'apps', resource: 'deployments', verbs: ['get', 'list', 'create', 'update', 'delete'] },
  { group: 'apps', resource: 'deployments', subresource: 'scale', verbs: ['update'] },
  // The undo of a stalled rollout reads the template of the ReplicaSet of the revision before.
  { group: 'apps', resource: 'replicasets', verbs: ['list'] },
  // update: stopping one instance of a release set takes its pod out of the ReplicaSet (a label changed).
  { group: '', resource: 'pods', verbs: ['get', 'list', 'update', 'delete'] },
  { group: '', resource: 'pods', subresource: 'log', verbs: ['get'] },
  { group: '', resource: 'events', verbs: ['list'] },
];

/**
 * One check per kubeconfig, context and namespace the kubernetes services
 * use: the API server answers, the namespace exists (when the credentials
 * may read it; the minimal Role may not), and every permission is granted.
 */
export async function checkKubernetes(config: CutoverConfig, env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  const seen = new Map<string, { kubeconfig: string | null; context: string | null; namespace: string }>();
  for (const service of Object.values(config.services)) {
    const settings = service.kubernetes;
    if (service.runtime !== 'kubernetes' || !settings) continue;
    seen.set(`${settings.kubeconfig ?? ''}\u0000${settings.context ?? ''}\u0000${settings.namespace}`, settings);
  }
  return Promise.all([...seen.values()].map((target) => checkTarget(target, env)));
}

async function checkTarget(
  target: { kubeconfig: string | null; context: string | null; namespace: string },
  env: NodeJS.ProcessEnv,
): Promise<CheckResult> {
  const id = `runtime.kubernetes.${target.namespace}`;
  let client;
  try {
    client = kubernetesClient(target, env);
  } catch (error) {
    const e = error as CutoverError;
    return { id, status: 'fail', message: e.message, ...(e.hint ? { fix: e.hint } : {}) };
  }
  let version: string;
  try {
    version = (await client.version.getCode()).gitVersion;
  } catch (error) {
    return {
      id,
      status: 'fail',
      message: `the Kubernetes API server at ${client.server} does not answer (${client.source}): ${apiMessage(error)}`,
      fix: 'Check the kubeconfig server address and credentials, and that the cluster is up (kubectl version).',
    };
  }
  try {
    await client.core.readNamespace({ name: target.namespace });
  } catch (error) {
    if (apiStatus(error) === 404)
      return {
        id,
        status: 'fail',
        message: `namespace ${target.namespace} does not exist on ${client.server}`,
        fix: `Create it (kubectl create namespace ${target.namespace}) or set kubernetes.namespace to an existing one.`,
      };
    // 403: the minimal Role does not include reading namespaces; the permissions below still tell.
  }
  const missing: string[] = [];
  for (const permission of KUBERNETES_PERMISSIONS) {
    for (const verb of permission.verbs) {
      const what = `${verb} ${permission.resource}${permission.subresource ? `/${permission.subresource}` : ''}`;
      try {
        const review = await client.authorization.createSelfSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                namespace: target.namespace,
                group: permission.group,
                resource: permission.resource,
                ...(permission.subresource ? { subresource: permission.subresource } : {}),
                verb,
              },
            },
          },
        });
        if (review.status?.allowed !== true) missing.push(what);
      } catch (error) {
        missing.push(`${what} (cannot ask: ${apiMessage(error)})`);
      }
    }
  }
  if (missing.length > 0)
    return {
      id,
      status: 'fail',
      message: `${client.source} may not, in namespace ${target.namespace}: ${missing.join(', ')}`,
      fix: 'Bind the Role of docs/kubernetes.md ("Permissions") to the user or service account cutover runs as.',
      problems: missing.length,
    };
  return {
    id,
    status: 'ok',
    message: `Kubernetes ${version} at ${client.server} answers; namespace ${target.namespace}; every permission cutover needs is granted to ${client.source}`,
  };
}
