import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { issueAt, issuesOf, parse } from './issues-of.js';

// The embedded proxy's keys: trusted proxies, client limits, and per service timeouts, queue bound and passive health.
describe('the proxy keys in cutover.yaml', () => {
  const service = 'services: { web: { command: node server.js } }';

  it('reads server.trusted_proxies as IPv4 and IPv6 blocks, a bare address being a single host', () => {
    const config = parse(`server: { trusted_proxies: [10.0.0.0/8, 192.168.1.7, "fd00::/8"] }\n${service}`);
    assert.deepEqual(config.server.trustedProxies, [
      { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { address: '192.168.1.7', prefix: 32, family: 'ipv4' },
      { address: 'fd00::', prefix: 8, family: 'ipv6' },
    ]);
    assert.deepEqual(parse(service).server.trustedProxies, [], 'nobody is trusted by default');
  });

  it('refuses a bad CIDR block and names the field', () => {
    const { byPath } = issuesOf(
      `server: { trusted_proxies: [10.0.0.0/8, 10.0.0.0/33, "300.1.1.1", "fd00::/129", "10.0.0.0/x"] }\n${service}`,
    );
    assert.match(issueAt(byPath, 'server.trusted_proxies[1]').message, /prefix length of at most 32/);
    assert.match(issueAt(byPath, 'server.trusted_proxies[2]').message, /expected an IP address or CIDR block/);
    assert.match(issueAt(byPath, 'server.trusted_proxies[3]').message, /prefix length of at most 128/);
    assert.match(issueAt(byPath, 'server.trusted_proxies[4]').message, /expected an IP address or CIDR block/);
    assert.equal(byPath.has('server.trusted_proxies[0]'), false);
  });

  it('reads max_connections and client_timeouts, and refuses a head timeout longer than the request timeout', () => {
    const config = parse(
      `server: { max_connections: 500, client_timeouts: { headers: 5s, request: 1m, keep_alive: 30s } }\n${service}`,
    );
    assert.equal(config.server.maxConnections, 500);
    assert.deepEqual(config.server.clientTimeouts, { headersMs: 5_000, requestMs: 60_000, keepAliveMs: 30_000 });
    const { byPath } = issuesOf(
      `server: { max_connections: 0, client_timeouts: { headers: 2m, request: 1m } }\n${service}`,
    );
    assert.match(issueAt(byPath, 'server.max_connections').message, /whole number ≥ 1/);
    assert.match(issueAt(byPath, 'server.client_timeouts').message, /headers to be at most request/);
  });

  it('reads proxy_workers: auto is one per core (at most 8), a number is taken as is, anything else is refused', () => {
    assert.equal(parse(service).server.proxyWorkers, Math.min(availableParallelism(), 8));
    assert.equal(
      parse(`server: { proxy_workers: auto }\n${service}`).server.proxyWorkers,
      Math.min(availableParallelism(), 8),
    );
    assert.equal(parse(`server: { proxy_workers: 3 }\n${service}`).server.proxyWorkers, 3);
    for (const bad of ['0', '17', '1.5', 'many', '"2"']) {
      const { byPath } = issuesOf(`server: { proxy_workers: ${bad} }\n${service}`);
      assert.match(
        issueAt(byPath, 'server.proxy_workers').message,
        /expected auto .* or a whole number from 1 to 16/,
        bad,
      );
    }
  });

  it("reads a service's timeouts, instance_limits and passive_health, defaulting what is not written", () => {
    const config = parse(`services:
  web:
    command: node server.js
    timeouts: { connect: 1s, response_headers: 10s, idle: 0 }
    instance_limits: { pending: 0 }
    passive_health: { consecutive_failures: 3, ejection_time: 10s }
`);
    assert.deepEqual(config.services.web?.traffic, {
      connectTimeoutMs: 1_000,
      responseHeadersTimeoutMs: 10_000,
      idleTimeoutMs: 0,
      connectionsPerInstance: 128,
      pendingPerInstance: 0,
      passiveHealth: { consecutiveFailures: 3, ejectionMs: 10_000, maxEjectionMs: 300_000 },
    });
    const { byPath } = issuesOf(`services:
  web:
    command: node server.js
    timeouts: { connect: 0, respons_headers: 1s }
    passive_health: { ejection_time: 1m, max_ejection_time: 30s }
`);
    assert.match(issueAt(byPath, 'services.web.timeouts.connect').message, /greater than zero/);
    assert.match(issueAt(byPath, 'services.web.timeouts.respons_headers').message, /did you mean "response_headers"/);
    assert.match(
      issueAt(byPath, 'services.web.passive_health').message,
      /max_ejection_time to be at least ejection_time/,
    );
  });
});
