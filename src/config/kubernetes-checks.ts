import { makeIssue, type ConfigIssue, type ConfigPath, type SourceMap } from './config-issues.js';
import { KUBERNETES_ONLY_KEYS } from './kubernetes-schema.js';

/** Kubernetes label values: at most 63 characters, alphanumeric at both ends, "-", "_" and "." inside. */
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
/** Kubernetes label names (without a prefix): the same rule, not empty. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * Checks of a `runtime: kubernetes` service across fields: it needs its
 * `kubernetes:` map (at least the namespace), `container_port` belongs to the
 * pod network only, and the service's labels must be valid Kubernetes labels
 * (they go on its Deployments and pods; Docker accepts more). The map means
 * nothing to another runtime. Raw values are read defensively (the schema
 * reports bad types).
 */
export function checkKubernetesService(
  service: Record<string, unknown>,
  path: ConfigPath,
  source: SourceMap | null,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (service.runtime !== 'kubernetes') {
    for (const key of KUBERNETES_ONLY_KEYS) {
      if (service[key] !== undefined)
        issues.push(
          makeIssue(
            source,
            [...path, key],
            'only used by runtime "kubernetes"; add runtime: kubernetes or remove it',
            'key',
          ),
        );
    }
    return issues;
  }
  const settings = service.kubernetes;
  if (settings === undefined) {
    issues.push(
      makeIssue(
        source,
        [...path, 'kubernetes'],
        'required for runtime "kubernetes": at least the namespace its Deployments go to, like { namespace: shop }',
      ),
    );
  } else if (isMap(settings) && settings.container_port !== undefined && settings.network === 'host') {
    issues.push(
      makeIssue(
        source,
        [...path, 'kubernetes', 'container_port'],
        'only used with network: pod; with network: host each pod listens on $PORT, a port cutover picks for it',
      ),
    );
  } else if (isMap(settings) && settings.address !== undefined && settings.network !== 'host') {
    issues.push(
      makeIssue(
        source,
        [...path, 'kubernetes', 'address'],
        'only used with network: host; on the pod network each pod listens on its own IP',
      ),
    );
  }
  if (isMap(service.labels)) {
    for (const [key, value] of Object.entries(service.labels)) {
      if (!LABEL_NAME.test(key) || key.length > 63)
        issues.push(
          makeIssue(
            source,
            [...path, 'labels', key],
            'not a Kubernetes label name: at most 63 letters, digits, "-", "_" and ".", alphanumeric at both ends',
            'key',
          ),
        );
      else if (typeof value === 'string' && !LABEL_VALUE.test(value))
        issues.push(
          makeIssue(
            source,
            [...path, 'labels', key],
            'not a Kubernetes label value: at most 63 letters, digits, "-", "_" and ".", alphanumeric at both ends',
          ),
        );
    }
  }
  return issues;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
