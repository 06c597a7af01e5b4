import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceSpec } from '../../src/runtime/index.js';
import {
  deploymentName,
  isReleaseSet,
  labelValue,
  planDeployment,
  readinessProbeOf,
} from '../../src/runtime/kubernetes/kubernetes-deployment-spec.js';
import { parse } from '../config/issues-of.js';

// The Deployment an instance turns into, built without a cluster.
const config = parse(`services:
  web:
    runtime: kubernetes
    image: registry.example.com/shop:\${VERSION}
    command: [node, server.js, --port, "\${PORT}", --host, "\${HOST}"]
    env: { GREETING: "v=\${VERSION} i=\${INSTANCE}", PORT: "1" }
    pull: never
    resources: { cpus: 0.25, memory: 128m }
    labels: { team: payments }
    stop_grace_period: 4500ms
    health: { path: /ready, interval: 2s, timeout: 1500ms, healthy_threshold: 2, unhealthy_threshold: 3, restart_after: 2 }
    kubernetes: { namespace: shop, network: host, address: 127.0.0.1 }
  pods:
    runtime: kubernetes
    image: app:\${VERSION}
    health: { type: tcp, restart_after: 0 }
    kubernetes: { namespace: shop, container_port: 9090 }
`);
const web = config.services.web!;
const spec: InstanceSpec = {
  service: 'web',
  releaseId: 'web-7',
  version: '1.4.0+build.5',
  slot: 'green',
  index: 1,
  command: web.command,
  cwd: '',
  env: web.env,
  stopGracePeriodMs: web.stopGracePeriodMs,
};

describe('the Deployment of a kubernetes instance', () => {
  it('is one replica labelled by owner, service, release, slot, instance and version, selected by all but the version', () => {
    const deployment = planDeployment({
      spec,
      settings: web.docker!,
      kubernetes: web.kubernetes!,
      health: web.health,
      owner: 'abc123',
      port: 41000,
    });
    assert.equal(deployment.metadata?.name, 'cutover-abc123-web-7-green-1');
    assert.equal(deployment.spec?.replicas, 1);
    assert.deepEqual(deployment.spec?.selector.matchLabels, {
      'cutover.owner': 'abc123',
      'cutover.service': 'web',
      'cutover.release': 'web-7',
      'cutover.slot': 'green',
      'cutover.instance': '1',
    });
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    assert.equal(labels['cutover.version'], '1.4.0_build.5', 'a label value cannot hold "+"');
    assert.equal(labels.team, 'payments');
    assert.equal(deployment.spec?.template.metadata?.annotations?.['cutover.version'], '1.4.0+build.5');
  });

  it('runs the image of the version on the host network on its own port, with the health mapped to probes', () => {
    const pod = planDeployment({
      spec,
      settings: web.docker!,
      kubernetes: web.kubernetes!,
      health: web.health,
      owner: 'abc123',
      port: 41000,
    }).spec?.template.spec;
    assert.equal(pod?.hostNetwork, true);
    assert.equal(pod?.terminationGracePeriodSeconds, 5, 'whole seconds, rounded up');
    const container = pod?.containers[0];
    assert.equal(container?.image, 'registry.example.com/shop:1.4.0+build.5');
    assert.equal(container?.imagePullPolicy, 'Never');
    assert.deepEqual(container?.args, ['node', 'server.js', '--port', '41000', '--host', '$(HOST)']);
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(container?.env?.[0]?.name, 'HOST', 'first, so later values can say $(HOST)');
    assert.equal(env.HOST, '127.0.0.1');
    assert.equal(env.PORT, '41000', "cutover's PORT wins over the config's");
    assert.equal(env.GREETING, 'v=1.4.0+build.5 i=1');
    assert.deepEqual(container?.ports, [{ name: 'app', containerPort: 41000, protocol: 'TCP' }]);
    assert.deepEqual(container?.resources, { limits: { cpu: '250m', memory: String(128 * 1024 * 1024) } });
    assert.deepEqual(container?.readinessProbe, {
      httpGet: { path: '/ready', port: 41000, host: '127.0.0.1' },
      periodSeconds: 2,
      timeoutSeconds: 2,
      successThreshold: 2,
      failureThreshold: 3,
    });
    assert.equal(container?.livenessProbe?.failureThreshold, 5, 'unhealthy_threshold + restart_after');
  });

  it('on the pod network listens on the container port at the pod IP, probed over TCP', () => {
    const pods = config.services.pods!;
    const container = planDeployment({
      spec: { ...spec, service: 'pods', command: '', env: {} },
      settings: pods.docker!,
      kubernetes: pods.kubernetes!,
      health: pods.health,
      owner: 'abc123',
      port: pods.kubernetes!.containerPort!,
    }).spec?.template.spec?.containers[0];
    assert.equal(container?.args, undefined, "no command: the image's own");
    assert.deepEqual(container?.env?.[0], { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    assert.deepEqual(container?.readinessProbe?.tcpSocket, { port: 9090 });
    assert.equal(container?.livenessProbe, undefined, 'restart_after: 0, no liveness probe');
  });

  it('as a release set: one Deployment of the instances, selected by its own name whatever release it runs', () => {
    const pods = config.services.pods!;
    const input = {
      spec: { ...spec, service: 'pods', command: 'serve --as ${INSTANCE}', env: { WHO: 'i=${INSTANCE} v=${VERSION}' } },
      settings: pods.docker!,
      kubernetes: pods.kubernetes!,
      health: pods.health,
      owner: 'abc123',
      port: 9090,
      replicas: 3,
    };
    const deployment = planDeployment(input);
    assert.equal(deployment.metadata?.name, 'cutover-abc123-web-7-green-set');
    assert.equal(deployment.spec?.replicas, 3);
    const selector = {
      'cutover.owner': 'abc123',
      'cutover.service': 'pods',
      'cutover.deployment': 'cutover-abc123-web-7-green-set',
    };
    assert.deepEqual(deployment.spec?.selector.matchLabels, selector);
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    assert.equal(labels['cutover.release'], 'web-7');
    assert.equal(labels['cutover.instance'], undefined, 'one template for every instance');
    const container = deployment.spec?.template.spec?.containers[0];
    assert.deepEqual(container?.env?.[1], {
      name: 'INSTANCE',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.WHO, 'i=$(INSTANCE) v=1.4.0+build.5', "the pod's name, expanded by the kubelet");
    assert.deepEqual(container?.args, ['serve', '--as', '$(INSTANCE)']);

    // A native update puts a later release in the same Deployment: same name, same selector.
    const later = planDeployment({
      ...input,
      spec: { ...input.spec, releaseId: 'web-8', version: '1.5.0' },
      name: 'cutover-abc123-web-7-green-set',
    });
    assert.equal(later.metadata?.name, 'cutover-abc123-web-7-green-set');
    assert.deepEqual(later.spec?.selector.matchLabels, selector);
    assert.equal(later.spec?.template.metadata?.labels?.['cutover.release'], 'web-8');

    assert.equal(isReleaseSet(pods.kubernetes!, 'rolling'), true);
    assert.equal(isReleaseSet(pods.kubernetes!, 'blue-green'), false, 'blue-green keeps a Deployment per instance');
    assert.equal(isReleaseSet(web.kubernetes!, 'rolling'), false, "host network: cutover's own rolling runner");
  });

  it('has names and label values Kubernetes accepts', () => {
    const long = deploymentName('abc123', {
      releaseId: 'a-very-long-service-name-for-a-test-42',
      slot: 'blue',
      index: 0,
    });
    assert.ok(long.length <= 52 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(long), long);
    assert.notEqual(
      long,
      deploymentName('abc123', { releaseId: 'a-very-long-service-name-for-a-test-43', slot: 'blue', index: 0 }),
    );
    assert.equal(labelValue('-v1:2+3-'), 'v1_2_3');
    assert.equal(
      readinessProbeOf({ ...web.health, check: { type: 'command', command: 'true', inheritEnv: [] } }, 1),
      null,
    );
  });
  it('passes the config\'s "$" to the app as it is: the kubelet expands only the ${HOST} cutover writes', () => {
    const text = `services:
  web:
    runtime: kubernetes
    image: app:\${VERSION}
    command: [sh, -c, 'echo "$HOME" $(id -u) $$ \${HOST}']
    env: { PASSWORD: "p$(PORT)w$$x", AT: "\${HOST}:\${PORT}" }
    kubernetes: { namespace: shop, network: host }
`;
    const service = parse(text).services.web!;
    const deployment = planDeployment({
      spec: { ...spec, command: service.command, env: service.env },
      settings: service.docker!,
      kubernetes: service.kubernetes!,
      health: service.health,
      owner: 'abc123',
      port: 41000,
    });
    const container = deployment.spec?.template.spec?.containers[0];
    // What the kubelet reads: "$$" is one "$", $(HOST) the pod's address; nothing else is expanded.
    assert.deepEqual(container?.args, ['sh', '-c', 'echo "$$HOME" $$(id -u) $$$$ $(HOST)']);
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.PASSWORD, 'p$$(PORT)w$$$$x');
    assert.equal(env.AT, '$(HOST):41000');
  });
});
