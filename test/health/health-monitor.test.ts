import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { HealthConfig } from '../../src/config/types.js';
import { watchHealth } from '../../src/health/health-monitor.js';
import type { HealthChange, HealthWatcher } from '../../src/health/index.js';

/** Resolves once `condition` holds, polling every 10 ms; fails after `timeoutMs`. */
async function eventually(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('health monitor against a real server', () => {
  let server: http.Server;
  let port: number;
  let healthy = true;
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let delayMs = 0;
  const watchers: HealthWatcher[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      requests++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        res.statusCode = healthy ? 200 : 503;
        res.end();
      }, delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    for (const watcher of watchers) watcher.stop();
    server.closeAllConnections();
    server.close();
  });

  const config: HealthConfig = {
    check: { type: 'http', path: '/health', expectStatus: [200, 299] },
    intervalMs: 40,
    timeoutMs: 500,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
    startPeriodMs: 0,
    restartAfter: 0,
  };
  const target = () => ({
    instanceId: 'web/r1/green-0',
    host: '127.0.0.1',
    port,
    vars: { version: 'v1', slot: 'green', instance: '0' },
  });

  it('goes starting → healthy → unhealthy → healthy as the app recovers', async () => {
    healthy = true;
    delayMs = 0;
    const changes: HealthChange[] = [];
    const watcher = watchHealth(target(), config, (change) => changes.push(change));
    watchers.push(watcher);
    assert.equal(watcher.status(), 'starting');

    await eventually(() => watcher.status() === 'healthy');
    healthy = false;
    await eventually(() => watcher.status() === 'unhealthy');
    assert.equal(watcher.lastResult()?.detail, 'HTTP 503 (expected 200-299)');
    healthy = true;
    await eventually(() => watcher.status() === 'healthy');
    watcher.stop();

    assert.deepEqual(
      changes.map((change) => `${change.from}→${change.to}`),
      ['starting→healthy', 'healthy→unhealthy', 'unhealthy→healthy'],
    );
    assert.ok(changes.every((change) => change.instanceId === 'web/r1/green-0'));
    assert.equal(changes[1]?.last.ok, false);
  });

  it('checks right away, never overlaps checks, and stops for good', async () => {
    healthy = true;
    delayMs = 120; // three intervals per check: overlapping would show up as several in flight
    maxInFlight = 0;
    const requestsBefore = requests;
    const changes: HealthChange[] = [];
    const watcher = watchHealth(target(), { ...config, healthyThreshold: 1 }, (change) => changes.push(change));
    watchers.push(watcher);
    await eventually(() => requests > requestsBefore, 100);
    await eventually(() => requests >= requestsBefore + 3);
    watcher.stop();
    assert.equal(maxInFlight, 1);
    const seen = requests;
    const changesSeen = changes.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(requests <= seen + 1, 'at most the check already in flight finished');
    assert.equal(changes.length, changesSeen, 'no callback after stop');
  });

  it('a start period keeps a slow starter in starting instead of unhealthy', async () => {
    healthy = false;
    delayMs = 0;
    const changes: HealthChange[] = [];
    const watcher = watchHealth(target(), { ...config, startPeriodMs: 60_000 }, (change) => changes.push(change));
    watchers.push(watcher);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(watcher.status(), 'starting');
    healthy = true;
    await eventually(() => watcher.status() === 'healthy');
    watcher.stop();
    assert.deepEqual(
      changes.map((change) => change.to),
      ['healthy'],
    );
  });

  it('uses the injected clock for the start period', async () => {
    healthy = false;
    let fakeNow = 1_000_000;
    const watcher = watchHealth(
      target(),
      { ...config, startPeriodMs: 10_000 },
      () => {},
      () => fakeNow,
    );
    watchers.push(watcher);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(watcher.status(), 'starting');
    fakeNow += 10_000; // the start period is over
    await eventually(() => watcher.status() === 'unhealthy');
    watcher.stop();
  });
});
