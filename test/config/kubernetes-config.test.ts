import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { issueAt, issuesOf, parse } from './issues-of.js';

// `runtime: kubernetes` in cutover.yaml, validated once at load. No cluster needed.
describe('kubernetes services in cutover.yaml', () => {
  it('takes the docker image keys plus a kubernetes map; the pod network is the default', () => {
    const config = parse(`services:
  web:
    runtime: kubernetes
    image: registry.example.com/shop:\${VERSION}
    instances: 3
    pull: never
    resources: { cpus: 0.5, memory: 256m }
    labels: { team: payments }
    kubernetes: { namespace: shop, kubeconfig: ./kubeconfig, context: prod }
  edge:
    runtime: kubernetes
    image: edge:\${VERSION}
    kubernetes: { namespace: edge, network: host }
`);
    const web = config.services.web!;
    assert.equal(web.runtime, 'kubernetes');
    assert.equal(web.instances, 3);
    assert.equal(web.docker?.image, 'registry.example.com/shop:${VERSION}');
    assert.equal(web.docker?.pull, 'never');
    assert.equal(web.docker?.memoryBytes, 256 * 1024 * 1024);
    assert.equal(web.kubernetes?.namespace, 'shop');
    assert.equal(web.kubernetes?.context, 'prod');
    assert.ok(
      web.kubernetes?.kubeconfig && path.isAbsolute(web.kubernetes.kubeconfig),
      'the kubeconfig path is absolute',
    );
    assert.deepEqual([web.kubernetes?.network, web.kubernetes?.containerPort], ['pod', 8080]);
    const edge = config.services.edge!;
    assert.deepEqual(edge.kubernetes, {
      namespace: 'edge',
      kubeconfig: null,
      context: null,
      network: 'host',
      containerPort: null,
      address: null,
    });
    assert.equal('kubernetes' in parse('services: { web: { runtime: docker, image: app } }').services.web!, false);
  });

  it('names the field of each mistake', () => {
    const { byPath } = issuesOf(`services:
  nomap:
    runtime: kubernetes
    command: node server.js
  web:
    runtime: kubernetes
    image: app
    network: host
    container_port: 8080
    placement: [node.role==manager]
    labels: { team: "pay ments" }
    kubernetes: { namespace: Shop_Prod, network: bridge }
  hostport:
    runtime: kubernetes
    image: app
    kubernetes: { namespace: shop, network: host, container_port: 9000 }
  podaddress:
    runtime: kubernetes
    image: app
    kubernetes: { namespace: shop, address: 127.0.0.1 }
  box:
    runtime: docker
    image: app
    kubernetes: { namespace: shop }
`);
    assert.match(issueAt(byPath, 'services.nomap.image').message, /required for runtime "kubernetes"/);
    assert.match(issueAt(byPath, 'services.nomap.kubernetes').message, /required for runtime "kubernetes"/);
    assert.match(issueAt(byPath, 'services.web.network').message, /kubernetes\.network/);
    assert.match(issueAt(byPath, 'services.web.container_port').message, /kubernetes\.container_port/);
    assert.match(issueAt(byPath, 'services.web.placement').message, /only used by runtime "swarm"/);
    assert.match(issueAt(byPath, 'services.web.labels.team').message, /not a Kubernetes label value/);
    assert.match(issueAt(byPath, 'services.web.kubernetes.namespace').message, /expected a Kubernetes namespace/);
    assert.match(issueAt(byPath, 'services.web.kubernetes.network').message, /expected pod or host/);
    assert.match(issueAt(byPath, 'services.hostport.kubernetes.container_port').message, /only used with network: pod/);
    assert.match(issueAt(byPath, 'services.podaddress.kubernetes.address').message, /only used with network: host/);
    assert.match(issueAt(byPath, 'services.box.kubernetes').message, /only used by runtime "kubernetes"/);
  });
});
