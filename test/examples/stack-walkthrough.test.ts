import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import { AdminClient } from '../../src/cli/admin-client.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { REPO_ROOT, silentLogger } from '../support/cutover-harness.js';
import { startDockerDaemon, type DockerDaemon } from '../support/docker-daemon.js';
import { loadSampleImage } from '../support/docker-test-image.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';
import { operate, versionAt } from '../support/operations.js';

// examples/stack, run as its README says: the example's own cutover.yaml,
// nginx.conf and migrations (copied to a temp dir, so nginx's -p files land
// there), a real Docker daemon with the app image, a real PostgreSQL and a
// real nginx in front. Each strategy deploys through nginx: blue-green with
// the database's expand/contract, a 5/25/50/100 canary (and a bad one the
// analysis pulls back), a rolling start-first update of three containers.
const EXAMPLE = path.join(REPO_ROOT, 'examples', 'stack');

let daemon: DockerDaemon;
let postgres: PostgresServer;
let nginx: ChildProcess;
let dir: string;
let server: RunningServer;
let client: AdminClient;
let proxyUrl: string;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-stack-'));
  fs.cpSync(EXAMPLE, dir, {
    recursive: true,
    filter: (source) => !/\.cutover|_temp|nginx\.pid|error\.log/.test(path.basename(source)),
  });
  // nginx's workers run as nobody: they must be able to reach the prefix (mkdtemp makes it 0700).
  fs.chmodSync(dir, 0o755);
  [daemon, postgres] = await Promise.all([startDockerDaemon(), startPostgres()]);
  await loadSampleImage(daemon, [{ tag: 'v1' }, { tag: 'v2' }, { tag: 'v3-errors30' }]);
  await postgres.createDatabase('shop');
  const prefix = path.join(dir, 'nginx');
  nginx = spawn('nginx', ['-c', path.join(prefix, 'nginx.conf'), '-p', prefix, '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  const pidFile = path.join(prefix, 'nginx.pid');
  for (let i = 0; i < 250 && !fs.existsSync(pidFile); i += 1) await delay(20);
  assert.ok(fs.existsSync(pidFile), 'nginx started');
  const env = {
    PROXY_PORT: String(await findFreePort()),
    ADMIN_PORT: String(await findFreePort()),
    DOCKER_HOST: daemon.host,
    DATABASE_URL: postgres.url('shop'),
    CANARY_PAUSE: '1s',
    SCALE_DOWN_DELAY: '10m',
    STATE_DIR: path.join(dir, '.cutover'),
  };
  const config = await loadConfig(path.join(dir, 'cutover.yaml'), { env });
  server = await startServer(config, { logger: silentLogger, env: { PG_BIN: postgres.binDir } });
  client = new AdminClient({ url: server.adminUrl, token: server.token });
  proxyUrl = server.proxyUrl;
});

after(async () => {
  await server?.close();
  if (nginx && nginx.exitCode === null) {
    const exited = once(nginx, 'exit');
    nginx.kill('SIGTERM');
    await exited;
  }
  await Promise.all([daemon?.stop(), postgres?.stop()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const columnsOfOrders = async (): Promise<string[]> =>
  (
    await postgres.query<{ column_name: string }>(
      'shop',
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY column_name",
    )
  ).map((r) => r.column_name);

describe('the examples/stack walkthrough: an app image, PostgreSQL and nginx in front', () => {
  it('blue-green (web): v1, then v2 with its expand migration under traffic; the contract waits for v1 to stop', async () => {
    const first = await operate(client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
    assert.deepEqual(await columnsOfOrders(), ['id', 'placed_at', 'status_code']);
    const traffic = new SteadyTraffic({
      url: proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 50,
      connections: 4,
      maxDurationMs: 30_000,
    }).start();
    await traffic.waitForAnswers(10);
    const second = await operate(client, '/api/v1/services/web/deploy', { version: 'v2' });
    assert.equal(second.operation.outcome, 'succeeded', JSON.stringify(second.operation.error));
    await traffic.waitForAnswers(10);
    const summary = await traffic.stop();
    assert.deepEqual(await versionAt(proxyUrl), { status: 200, version: 'v2' });
    assert.equal(summary.failed - summary.connectionErrors, 0, `error answers: ${summary.firstErrors.join('; ')}`);
    // Expand ran before v2 started; v1 still runs in its slot (instant rollback), so status_code stays.
    assert.deepEqual(await columnsOfOrders(), ['id', 'placed_at', 'status', 'status_code']);
    const cleanup = await operate(client, '/api/v1/services/web/cleanup', {});
    assert.equal(cleanup.operation.outcome, 'succeeded', JSON.stringify(cleanup.operation.error));
    for (let i = 0; i < 100 && (await columnsOfOrders()).includes('status_code'); i += 1) await delay(50);
    assert.deepEqual(
      await columnsOfOrders(),
      ['id', 'placed_at', 'status'],
      'the contract migration ran once v1 stopped',
    );
  });

  it("canary (shop): 5/25/50/100 to v2, then a bad v3 pulled back by the analysis of nginx's access log", async () => {
    const first = await operate(client, '/api/v1/services/shop/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
    const traffic = new SteadyTraffic({
      url: proxyUrl,
      host: 'shop.localhost',
      ratePerSecond: 60,
      connections: 4,
      maxDurationMs: 40_000,
    }).start();
    try {
      const good = await operate(client, '/api/v1/services/shop/deploy', { version: 'v2' });
      assert.equal(good.operation.outcome, 'succeeded', JSON.stringify(good.operation.error));
      const weights = good.events
        .filter((e) => e.type === 'canary.weight')
        .map((e) => (e.data as { weight: number }).weight);
      // The last step (100) is the promotion: all traffic, the canary becomes the release.
      assert.deepEqual(weights, [5, 25, 50]);
      assert.ok(good.events.some((e) => e.type === 'canary.promoted'));
      assert.deepEqual(await versionAt(proxyUrl, 'shop.localhost'), { status: 200, version: 'v2' });
      const bad = await operate(client, '/api/v1/services/shop/deploy', { version: 'v3-errors30' });
      assert.equal(bad.operation.outcome, 'failed');
      assert.match(bad.operation.error?.message ?? '', /error-rate/);
      assert.deepEqual(await versionAt(proxyUrl, 'shop.localhost'), { status: 200, version: 'v2' });
    } finally {
      await traffic.stop();
    }
  });

  it('rolling (api): three containers replaced one at a time, start-first, under traffic', async () => {
    const first = await operate(client, '/api/v1/services/api/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
    const traffic = new SteadyTraffic({
      url: proxyUrl,
      host: 'api.localhost',
      ratePerSecond: 50,
      connections: 4,
      maxDurationMs: 40_000,
    }).start();
    const rolled = await operate(client, '/api/v1/services/api/deploy', { version: 'v2' });
    const summary = await traffic.stop();
    assert.equal(rolled.operation.outcome, 'succeeded', JSON.stringify(rolled.operation.error));
    assert.equal(summary.failed - summary.connectionErrors, 0, `error answers: ${summary.firstErrors.join('; ')}`);
    const status = await client.request<ServiceStatus>('GET', '/api/v1/services/api');
    assert.equal(status.active?.version, 'v2');
    assert.equal(status.active?.running, '3/3');
    const containers = await daemon.docker.listContainers({ filters: { label: ['cutover.service=api'] } });
    assert.deepEqual(containers.map((c) => c.Labels['cutover.version']).sort(), ['v2', 'v2', 'v2']);
  });
});
