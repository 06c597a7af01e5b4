import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { AdminClient } from '../../../src/cli/admin-client.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { findFreePort } from '../../../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../../../src/server/start-server.js';
import { runCli } from '../../support/cli-process.js';
import { silentLogger } from '../../support/cutover-harness.js';
import { startDockerDaemon, type DockerDaemon } from '../../support/docker-daemon.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { operate, versionAt } from '../../support/operations.js';

// A team's docker-compose.yml, shaped like the runbooks' (web, worker, db,
// redis; healthchecks, env_file, update_config, depends_on, an x- anchor),
// taken in by `cutover init --from` as a person would: the real CLI writes
// cutover.yaml, the operator sets the server's addresses, `cutover doctor`
// accepts it, and the web service deploys on a real Docker daemon, then
// rolls to the next version the way its update_config said.

const COMPOSE = `name: shop
x-app: &app
  image: cutover-sample:v1
  pull_policy: never
  env_file: [./config/app.env]
  environment:
    PORT: "3000"
    NODE_ENV: production
    DATABASE_URL: postgres://shop:hunter2@db:5432/shop
    REDIS_URL: redis://redis:6379/0
services:
  web:
    <<: *app
    ports: ["8080:3000"]
    labels:
      traefik.enable: "true"
      traefik.http.routers.web.rule: Host(\`shop.localhost\`)
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:3000/health"]
      interval: 300ms
      timeout: 2s
      retries: 3
      start_period: 15s
    deploy:
      replicas: 2
      update_config: { parallelism: 1, delay: 0s, order: start-first, failure_action: rollback, monitor: 1s }
    depends_on:
      db: { condition: service_healthy }
      redis: { condition: service_started }
    stop_grace_period: 3s
  worker:
    <<: *app
    command: ["node", "worker.js"]
    depends_on: [db, redis]
  db:
    image: postgres:16
    environment: { POSTGRES_PASSWORD: hunter2 }
    healthcheck: { test: ["CMD-SHELL", "pg_isready -U shop"], interval: 5s }
    volumes: [dbdata:/var/lib/postgresql/data]
  redis:
    image: redis:7-alpine
    healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: 5s }
volumes:
  dbdata: {}
`;

describe('cutover init --from a runbook-shaped docker-compose.yml', () => {
  let daemon: DockerDaemon;
  let dir: string;
  let server: RunningServer | null = null;
  const env = { DATABASE_URL: 'postgres://shop:hunter2@127.0.0.1:1/shop' };

  before(async () => {
    daemon = await startDockerDaemon();
    await loadSampleImage(daemon, [{ tag: 'v1' }, { tag: 'v2' }]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-compose-e2e-'));
    fs.mkdirSync(path.join(dir, 'compose', 'config'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'compose', 'docker-compose.yml'), COMPOSE);
    fs.writeFileSync(
      path.join(dir, 'compose', 'config', 'app.env'),
      'LOG_LEVEL=info\nSESSION_SECRET=from-the-env-file\n',
    );
    fs.mkdirSync(path.join(dir, 'deploy'));
  });
  after(async () => {
    await server?.close();
    await daemon?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes a commented cutover.yaml for the web service, with the rest listed and why', async () => {
    const run = await runCli(['init', '--from', '../compose/docker-compose.yml'], { cwd: path.join(dir, 'deploy') });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /set in the server's environment: DATABASE_URL/);
    const text = fs.readFileSync(path.join(dir, 'deploy', 'cutover.yaml'), 'utf8');
    assert.ok(!text.includes('hunter2'), 'a password from the Compose file was copied');
    assert.match(text, /# - services\.worker: no published port/);
    assert.match(text, /# - services\.db: a data store \(postgres:16\)/);
    assert.match(text, /# - services\.redis: a data store/);
    const web = parseConfig(text, path.join(dir, 'deploy', 'cutover.yaml'), { env }).services.web;
    assert.ok(web);
    assert.deepEqual(web.hosts, ['shop.localhost']);
    assert.equal(web.docker?.image, 'cutover-sample:${VERSION}');
    assert.equal(web.instances, 2);
    assert.equal(web.strategy.type, 'rolling');
    assert.equal(web.health.check.type === 'http' ? web.health.check.path : null, '/health');
    assert.equal(web.health.intervalMs, 300);
    assert.deepEqual(web.envFiles, [path.join(dir, 'compose', 'config', 'app.env')]);
    assert.equal(web.env.DATABASE_URL, env.DATABASE_URL);
  });

  it('`cutover doctor` accepts it once the operator has set the server’s addresses', async () => {
    const file = path.join(dir, 'deploy', 'cutover.yaml');
    const doc = parseDocument(fs.readFileSync(file, 'utf8'));
    doc.setIn(['server', 'proxy'], `127.0.0.1:${await findFreePort()}`);
    doc.setIn(['server', 'admin'], `127.0.0.1:${await findFreePort()}`);
    doc.setIn(['server', 'docker_host'], daemon.host);
    doc.setIn(['server', 'proxy_workers'], 1);
    fs.writeFileSync(file, doc.toString());
    const doctor = await runCli(['doctor', '--config', file, '--json'], { cwd: path.join(dir, 'deploy'), env });
    const results = JSON.parse(doctor.stdout) as { checks?: { id: string; status: string; message: string }[] };
    const checks = results.checks ?? (results as unknown as { id: string; status: string; message: string }[]);
    const failed = checks.filter((c) => c.status === 'fail');
    assert.deepEqual(failed, [], doctor.stdout);
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
  });

  it('deploys the web service, then rolls it to the next version as update_config said', async () => {
    const file = path.join(dir, 'deploy', 'cutover.yaml');
    const config = parseConfig(fs.readFileSync(file, 'utf8'), file, { env });
    server = await startServer(config, { logger: silentLogger, env });
    const client = new AdminClient({ url: server.adminUrl, token: server.token });
    const first = await operate(client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
    assert.deepEqual(await versionAt(server.proxyUrl, 'shop.localhost'), { status: 200, version: 'v1' });
    const containers = await daemon.docker.listContainers({ filters: { label: ['cutover.service=web'] } });
    assert.equal(containers.length, 2);
    const inspected = await daemon.docker.getContainer(containers[0]!.Id).inspect();
    // The env file's values reached the container; the server's DATABASE_URL filled the reference.
    assert.ok(inspected.Config.Env.includes('LOG_LEVEL=info'), inspected.Config.Env.join(' '));
    assert.ok(inspected.Config.Env.includes(`DATABASE_URL=${env.DATABASE_URL}`));

    const second = await operate(client, '/api/v1/services/web/deploy', { version: 'v2' });
    assert.equal(second.operation.outcome, 'succeeded', JSON.stringify(second.operation.error));
    assert.equal(second.operation.kind, 'deploy');
    assert.ok(
      second.events.some((e) => e.type.startsWith('rolling.')),
      second.events.map((e) => e.type).join(' '),
    );
    assert.deepEqual(await versionAt(server.proxyUrl, 'shop.localhost'), { status: 200, version: 'v2' });
  });
});
