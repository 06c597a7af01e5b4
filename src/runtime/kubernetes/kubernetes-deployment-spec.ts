import { createHash } from 'node:crypto';
import type { V1Deployment, V1Probe } from '@kubernetes/client-node';
import type { DockerServiceConfig, HealthConfig, KubernetesServiceConfig } from '../../config/types.js';
import { commandWords } from '../docker/command-words.js';
import type { InstanceSpec } from '../index.js';
import { substituteEnv, substitutePlaceholders, type PlaceholderValues } from '../process/placeholders.js';

/**
 * The Deployment of one instance: what cutover asks the cluster for, built
 * without I/O. One Deployment per instance (replicas: 1), not one per release:
 *
 * - With host networking (the test cluster, `network: host`) every pod on a
 *   node needs a port of its own, and a Deployment's pods share one template
 *   with no per-pod index (Swarm had {{.Task.Slot}}). A Deployment per
 *   instance carries its own port in its template, so PORT is a plain env
 *   value, the readiness probe dials that port, and the scheduler's hostPort
 *   check keeps two pods off one port of a node. Handing a port to each pod
 *   of a shared template after it is made (an annotation read through a
 *   downwardAPI volume) would race the kubelet, which refreshes such volumes
 *   only on its periodic sync (up to a minute), and the probe could not name
 *   a port.
 * - Stopping one instance is exact (its Deployment goes), as the Runtime port
 *   and cutover's own rolling runner expect; a crashed pod is restarted by the
 *   kubelet in place and is the same instance again.
 *
 * With the pod network (`network: pod`, a normal cluster) every pod has its
 * own IP and listens on `container_port`; cutover dials pod IP:port, read
 * from the pod's status. HOST is the pod's IP (the downward API) unless
 * `kubernetes.address` names one for host networking (127.0.0.1 on the
 * single-node test cluster): the app listens where the kubelet probes and
 * cutover dials.
 */

/** Labels on every Deployment and pod cutover makes, and what it finds them again by. */
export const KUBERNETES_LABELS = {
  owner: 'cutover.owner',
  service: 'cutover.service',
  release: 'cutover.release',
  slot: 'cutover.slot',
  version: 'cutover.version',
  instance: 'cutover.instance',
  /** A release set's Deployment name on it and its pods: its selector, which outlives the release it runs. */
  deployment: 'cutover.deployment',
} as const;

/** Annotations: exact values a label cannot hold (a version with "+"), and the port the instance was given. */
export const KUBERNETES_ANNOTATIONS = {
  version: 'cutover.version',
  port: 'cutover.port',
  instanceId: 'cutover.instance-id',
} as const;

/** The container's name in every pod (logs and status are read by it). */
export const CONTAINER_NAME = 'app';

export interface DeploymentInput {
  spec: InstanceSpec;
  settings: DockerServiceConfig;
  kubernetes: KubernetesServiceConfig;
  health: HealthConfig;
  owner: string;
  /** host network: the port cutover picked; pod network: the container port. */
  port: number;
  /**
   * A release set (see releaseSetOf): one Deployment with this many replicas for all the release's
   * instances, which Kubernetes' RollingUpdate can update; absent: the instance's own Deployment.
   */
  replicas?: number;
  /** A release set's Deployment name when the template is for a later release (a native update keeps the name). */
  name?: string;
}

/**
 * A Kubernetes label value: at most 63 of [A-Za-z0-9._-], alphanumeric at
 * both ends. Service names and release ids already are; a version may not be
 * (the exact one is in an annotation).
 */
export function labelValue(text: string): string {
  let value = text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63);
  value = value.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  return value;
}

/**
 * `cutover-<owner>-<release>-<slot>-<index>`, a DNS-1123 name. Pod names add
 * about 17 characters to it, so a longer one is cut and made unique by a hash.
 */
export function deploymentName(
  owner: string,
  instance: { releaseId: string; slot: string; index: number | 'set' },
): string {
  const full = `cutover-${owner}-${instance.releaseId}-${instance.slot}-${instance.index}`;
  const clean = full.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (clean.length <= 52 && clean === full) return clean;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${clean.slice(0, 43).replace(/-+$/, '')}-${hash}`;
}

/** The labels that select exactly one instance's pods. */
export function instanceSelector(
  owner: string,
  instance: { service: string; releaseId: string; slot: string; index: number },
): Record<string, string> {
  return {
    [KUBERNETES_LABELS.owner]: owner,
    [KUBERNETES_LABELS.service]: instance.service,
    [KUBERNETES_LABELS.release]: instance.releaseId,
    [KUBERNETES_LABELS.slot]: instance.slot,
    [KUBERNETES_LABELS.instance]: String(instance.index),
  };
}

/** The labels that select a release set's pods, whatever release its template runs. */
export function setSelector(owner: string, service: string, deployment: string): Record<string, string> {
  return {
    [KUBERNETES_LABELS.owner]: owner,
    [KUBERNETES_LABELS.service]: service,
    [KUBERNETES_LABELS.deployment]: deployment,
  };
}

/**
 * A release set: the release's instances as the replicas of one Deployment,
 * which Kubernetes' own RollingUpdate then replaces (`strategy: rolling`).
 * Only with the pod network, where every pod listens on the same container
 * port at an address of its own; with host networking two pods of one
 * template on a node would want one port, so each instance keeps a
 * Deployment of its own and cutover's rolling runner replaces them.
 */
export function isReleaseSet(kubernetes: KubernetesServiceConfig, strategyType: string): boolean {
  return kubernetes.network === 'pod' && strategyType === 'rolling';
}

/** `a=b,c=d`: a label selector for the API. */
export function selectorText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

const PULL_POLICY = { always: 'Always', 'if-missing': 'IfNotPresent', never: 'Never' } as const;

/** Whole seconds, at least 1: Kubernetes counts probe periods and grace periods in seconds. */
export function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * The readiness probe of the service's `health`: the kubelet's verdict
 * decides nothing alone (cutover's own check gates traffic), but its failure
 * reason is the pod's, and a pod that is not Ready gets no traffic. HTTP and
 * TCP checks map directly; gRPC becomes a TCP probe (Kubernetes 1.20 has no
 * gRPC probe); a command check runs on cutover's machine, not in the pod, so
 * it has no probe.
 */
export function readinessProbeOf(health: HealthConfig, port: number, host?: string): V1Probe | null {
  const timing = {
    periodSeconds: seconds(health.intervalMs),
    timeoutSeconds: seconds(health.timeoutMs),
    successThreshold: Math.max(1, health.healthyThreshold),
    failureThreshold: Math.max(1, health.unhealthyThreshold),
  };
  switch (health.check.type) {
    case 'http':
      return { httpGet: { path: health.check.path, port, ...(host ? { host } : {}) }, ...timing };
    case 'tcp':
    case 'grpc':
      return { tcpSocket: { port, ...(host ? { host } : {}) }, ...timing };
    case 'command':
      return null;
  }
}

/**
 * `health.restart_after` (restart after that many failed checks once
 * unhealthy) as a liveness probe: the kubelet restarts the container itself,
 * so the supervisor leaves it to Kubernetes (replacesUnhealthyInstances).
 */
export function livenessProbeOf(health: HealthConfig, port: number, host?: string): V1Probe | null {
  if (health.restartAfter <= 0) return null;
  const readiness = readinessProbeOf(health, port, host);
  if (!readiness) return null;
  return {
    ...readiness,
    successThreshold: 1,
    failureThreshold: Math.max(1, health.unhealthyThreshold) + health.restartAfter,
    initialDelaySeconds: Math.ceil(health.startPeriodMs / 1000),
  };
}

export function planDeployment(input: DeploymentInput): V1Deployment {
  const { spec, settings, kubernetes, health, owner, port } = input;
  // ${HOST} becomes the kubelet's $(HOST), expanded from the env var below: the pod's IP is known only there.
  // Every other "$" is the config's own text and is escaped, so no $(NAME) in it is expanded.
  const set = input.replicas !== undefined;
  const hostMark = `\u0000host-${createHash('sha256').update(spec.command).digest('hex').slice(0, 12)}\u0000`;
  // A set's pods share one template: ${INSTANCE} is the pod's own name, the kubelet's $(INSTANCE).
  const instanceMark = hostMark.replace('host-', 'instance-');
  const values: PlaceholderValues = {
    VERSION: spec.version,
    PORT: String(port),
    SLOT: spec.slot,
    INSTANCE: set ? instanceMark : String(spec.index),
    HOST: hostMark,
  };
  const forKubelet = (text: string): string =>
    kubeletLiteral(text).split(hostMark).join('$(HOST)').split(instanceMark).join('$(INSTANCE)');
  const image = substitutePlaceholders(settings.image, {
    ...values,
    HOST: '${HOST}',
    ...(set ? { INSTANCE: '${INSTANCE}' } : {}),
  });
  const env = Object.fromEntries(
    Object.entries(substituteEnv(spec.env, values)).map(([key, value]) => [key, forKubelet(value)]),
  );
  const args =
    spec.command.trim() === ''
      ? undefined
      : commandWords(spec.command).map((word) => forKubelet(substitutePlaceholders(word, values)));
  const name = input.name ?? deploymentName(owner, set ? { ...spec, index: 'set' } : spec);
  const selector = set ? setSelector(owner, spec.service, name) : instanceSelector(owner, spec);
  const labels = {
    ...settings.labels,
    ...selector,
    ...(set
      ? {
          [KUBERNETES_LABELS.release]: spec.releaseId,
          [KUBERNETES_LABELS.slot]: spec.slot,
        }
      : {}),
    [KUBERNETES_LABELS.version]: labelValue(spec.version),
  };
  const annotations = {
    [KUBERNETES_ANNOTATIONS.version]: spec.version,
    [KUBERNETES_ANNOTATIONS.port]: String(port),
    [KUBERNETES_ANNOTATIONS.instanceId]: set
      ? `${spec.service}/${spec.releaseId}/${spec.slot}`
      : `${spec.service}/${spec.releaseId}/${spec.slot}-${spec.index}`,
  };
  const address = kubernetes.address ?? undefined;
  const readiness = readinessProbeOf(health, port, address);
  const liveness = livenessProbeOf(health, port, address);
  const limits: Record<string, string> = {
    ...(settings.cpus === null ? {} : { cpu: `${Math.round(settings.cpus * 1000)}m` }),
    ...(settings.memoryBytes === null ? {} : { memory: String(settings.memoryBytes) }),
  };
  const host = kubernetes.network === 'host';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels, annotations },
    spec: {
      replicas: input.replicas ?? 1,
      selector: { matchLabels: selector },
      // Only a native rolling update changes the template; a crash never does.
      revisionHistoryLimit: 2,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels, annotations },
        spec: {
          hostNetwork: host,
          ...(host ? { dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: seconds(spec.stopGracePeriodMs),
          containers: [
            {
              name: CONTAINER_NAME,
              image,
              imagePullPolicy: PULL_POLICY[settings.pull],
              ...(args ? { args } : {}),
              env: [
                // First: later values may refer to it as $(HOST).
                address
                  ? { name: 'HOST', value: address }
                  : { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                // A set's pods share one template: the pod's name tells them apart, as Swarm's task slot would.
                ...(set ? [{ name: 'INSTANCE', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] : []),
                ...Object.entries(env)
                  .filter(([key]) => !RESERVED_ENV.has(key))
                  .map(([name, value]) => ({ name, value })),
                { name: 'PORT', value: String(port) },
                { name: 'VERSION', value: kubeletLiteral(spec.version) },
                { name: 'SLOT', value: kubeletLiteral(spec.slot) },
                ...(set ? [] : [{ name: 'INSTANCE', value: String(spec.index) }]),
                {
                  name: 'CUTOVER_INSTANCE_ID',
                  value: set
                    ? `${kubeletLiteral(annotations[KUBERNETES_ANNOTATIONS.instanceId])}-$(INSTANCE)`
                    : kubeletLiteral(annotations[KUBERNETES_ANNOTATIONS.instanceId]),
                },
              ],
              // With hostNetwork the host port is the container port: the scheduler keeps two pods off one port of a node.
              ports: [{ name: 'app', containerPort: port, protocol: 'TCP' }],
              ...(readiness ? { readinessProbe: readiness } : {}),
              ...(liveness ? { livenessProbe: liveness } : {}),
              ...(Object.keys(limits).length > 0 ? { resources: { limits } } : {}),
            },
          ],
        },
      },
    },
  };
}

/** Set by cutover for every instance; the config's env cannot replace them (as with the other runtimes, PORT always wins). */
const RESERVED_ENV = new Set(['HOST', 'PORT', 'VERSION', 'SLOT', 'INSTANCE', 'CUTOVER_INSTANCE_ID']);

/**
 * Text the kubelet passes on as it is: it expands $(NAME) in env values and
 * args from the container's env, and reads "$$" as "$". An env value or
 * command word from the config reaches the app byte for byte, as with the
 * other runtimes (a password holding "$(" included).
 */
export function kubeletLiteral(text: string): string {
  return text.replaceAll('$', '$$$$');
}
