import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueAt, issuesOf, parse } from './issues-of.js';

// `protocol: grpc` and the gRPC health check, read and checked at load.
describe('gRPC services in cutover.yaml', () => {
  const grpcService = (extra = '') =>
    `server: { https: 127.0.0.1:8443 }\nservices: { greeter: { command: node server.js, hosts: [grpc.test], protocol: grpc, tls: { cert: c.pem, key: k.pem }${extra} } }`;

  it('reads protocol: grpc, and checks its instances with the gRPC health call by default', () => {
    const service = parse(grpcService()).services.greeter;
    assert.equal(service?.protocol, 'grpc');
    assert.deepEqual(service?.health.check, { type: 'grpc', service: '' });
    const named = parse(grpcService(', health: { grpc_service: demo.Greeter, interval: 1s }')).services.greeter;
    assert.deepEqual(named?.health.check, { type: 'grpc', service: 'demo.Greeter' });
    assert.equal(named?.health.intervalMs, 1000);
    // An explicit kind wins over the protocol's default.
    assert.deepEqual(parse(grpcService(', health: { tcp: true }')).services.greeter?.health.check, { type: 'tcp' });
  });

  it('leaves HTTP services as they were', () => {
    const service = parse('services: { web: { command: node server.js } }').services.web;
    assert.equal(service?.protocol, undefined);
    assert.equal(service?.health.check.type, 'http');
  });

  it('refuses gRPC without the proxy, without server.https, or without tls, naming protocol', () => {
    const noHttps = issuesOf(
      'services: { greeter: { command: node server.js, hosts: [grpc.test], protocol: grpc } }',
    ).byPath;
    assert.match(issueAt(noHttps, 'services.greeter.protocol').message, /set server.https/);
    const noTls = issuesOf(
      'server: { https: 127.0.0.1:8443 }\nservices: { greeter: { command: node server.js, hosts: [grpc.test], protocol: grpc } }',
    ).byPath;
    assert.match(issueAt(noTls, 'services.greeter.protocol').message, /give the service tls/);
    const nginx = issuesOf(
      'server: { router: nginx, nginx: { config: /etc/nginx/nginx.conf, include: /etc/nginx/conf.d/cutover.conf } }\nservices: { greeter: { command: node server.js, hosts: [grpc.test], protocol: grpc } }',
    ).byPath;
    assert.match(issueAt(nginx, 'services.greeter.protocol').message, /nginx router does not proxy gRPC/);
  });

  it('refuses a bad protocol, a bad gRPC service name, and grpc_service on another kind of check', () => {
    assert.match(
      issueAt(issuesOf('services: { web: { command: x, protocol: websocket } }').byPath, 'services.web.protocol')
        .message,
      /expected http or grpc/,
    );
    assert.match(
      issueAt(
        issuesOf(grpcService(', health: { grpc_service: "a b; c" }')).byPath,
        'services.greeter.health.grpc_service',
      ).message,
      /gRPC service name/,
    );
    assert.match(
      issueAt(
        issuesOf('services: { web: { command: x, health: { path: /h, grpc_service: demo.Greeter } } }').byPath,
        'services.web.health.grpc_service',
      ).message,
      /only used by grpc checks \(this check is http\)/,
    );
  });
});
