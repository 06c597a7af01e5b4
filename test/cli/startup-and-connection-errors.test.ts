import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/cli/admin-client.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { isCutoverError } from '../../src/core/errors.js';
import { listenError } from '../../src/core/listen-errors.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { stopLeftoverProxy } from '../../src/server/start-server.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { runCli, startServerProcess, waitForExit } from '../support/cli-process.js';
import { SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';

/**
 * The ordinary mistakes of a first hour, made for real: a port another program holds, an address the
 * machine does not have, CUTOVER_URL at the proxy or at some other web server. Each has its own code and a
 * hint, never "This is a bug in cutover".
 */
describe('startup and connection errors a user can cause', () => {
  let dir: string;
  let holder: net.Server;
  let heldPort: number;
  let webServer: http.Server;
  let webUrl: string;
  let harness: Harness;

  const configFile = async (name: string, ports: { proxy: string; admin: string }): Promise<string> => {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(
      file,
      `server:
  proxy: ${ports.proxy}
  admin: ${ports.admin}
  state_dir: ${path.join(dir, `state-${name}`)}
  proxy_workers: 1
services:
  web:
    command: node server.js
    cwd: ${SAMPLE_APP}
`,
    );
    return file;
  };
  const server = (file: string) => runCli(['server', '--config', file], { cwd: dir, timeoutMs: 30_000 });
  const status = (url: string) =>
    runCli(['status'], { cwd: dir, env: { CUTOVER_URL: url, CUTOVER_TOKEN: 'x'.repeat(40) } });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-user-errors-'));
    holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    heldPort = (holder.address() as net.AddressInfo).port;
    // Some web server on the machine that is not cutover, answering JSON `null` to everything (what made
    // the CLI fail with "Cannot read properties of null (reading 'service')").
    webServer = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end('null');
    });
    await new Promise<void>((resolve) => webServer.listen(0, '127.0.0.1', resolve));
    webUrl = `http://127.0.0.1:${(webServer.address() as net.AddressInfo).port}`;
    harness = await startHarness({ instances: 1 });
  });
  after(async () => {
    await harness?.close();
    await new Promise((resolve) => holder.close(resolve));
    await new Promise((resolve) => webServer.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a proxy port another program holds: PORT_IN_USE, with what doctor says to do', async () => {
    const file = await configFile('proxy-held', {
      proxy: `127.0.0.1:${heldPort}`,
      admin: `127.0.0.1:${await findFreePort()}`,
    });
    const result = await server(file);
    assert.equal(result.code, EXIT.FAILED, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`PORT_IN_USE: the proxy cannot listen on 127\\.0\\.0\\.1:${heldPort}: another program holds it`),
    );
    assert.ok(
      result.stderr.includes(
        `hint: Stop what holds 127.0.0.1:${heldPort} (ss -ltnp 'sport = :${heldPort}'), or change server.proxy.`,
      ),
      result.stderr,
    );
    assert.doesNotMatch(result.stderr, /INTERNAL|bug in cutover/);
    const doctor = await runCli(['--config', file, 'doctor'], { cwd: dir });
    assert.ok(
      doctor.stdout.includes(
        `fix: Stop what holds 127.0.0.1:${heldPort} (ss -ltnp 'sport = :${heldPort}'), or change server.proxy.`,
      ),
      `doctor and the server give the same fix:\n${doctor.stdout}`,
    );
  });

  it('an admin port another program holds: PORT_IN_USE naming server.admin, and the proxy it started is stopped', async () => {
    const file = await configFile('admin-held', {
      proxy: `127.0.0.1:${await findFreePort()}`,
      admin: `127.0.0.1:${heldPort}`,
    });
    const result = await server(file);
    assert.equal(result.code, EXIT.FAILED, result.stderr);
    assert.match(result.stderr, new RegExp(`PORT_IN_USE: the admin API cannot listen on 127\\.0\\.0\\.1:${heldPort}`));
    assert.match(result.stderr, /or change server\.admin\. If it is a cutover server already running/);
    assert.equal(await stopLeftoverProxy(path.join(dir, 'state-admin-held')), false, 'no proxy process is left');
  });

  it('a second `cutover server` for the same config is refused before it touches what the first one runs', async () => {
    // It used to adopt the proxy and the instances, fail on the admin port, and stop every instance on its
    // way out: the first server restarted them after its crash back-off, and users got errors meanwhile.
    const adminPort = await findFreePort();
    const file = await configFile('twice', {
      proxy: `127.0.0.1:${await findFreePort()}`,
      admin: `127.0.0.1:${adminPort}`,
    });
    const first = await startServerProcess(file, dir, adminPort);
    const env = {
      CUTOVER_URL: `http://127.0.0.1:${adminPort}`,
      CUTOVER_TOKEN: fs.readFileSync(path.join(dir, 'state-twice', 'admin-token'), 'utf8').trim(),
    };
    const instances = async () => {
      const answer = await runCli(['status', 'web', '--json'], { cwd: dir, env });
      const status = JSON.parse(answer.stdout) as ServiceStatus;
      return status.active?.instances.map((i) => `${i.id} pid ${i.pid} restarts ${i.restarts} ${i.health}`);
    };
    try {
      const deployed = await runCli(['deploy', 'web', '--version', 'v1', '--auto-switch'], {
        cwd: dir,
        env,
        timeoutMs: 30_000,
      });
      assert.equal(deployed.code, EXIT.OK, deployed.stderr);
      const before = await instances();
      const second = await server(file);
      assert.equal(second.code, EXIT.FAILED, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(`PORT_IN_USE: the admin API cannot listen on 127\\.0\\.0\\.1:${adminPort}`),
      );
      assert.match(
        second.stderr,
        /If it is a cutover server already running for this config, `cutover status` talks to it/,
      );
      assert.doesNotMatch(second.stdout, /adopted|instance stopping/, 'it adopted nothing');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.deepEqual(await instances(), before, 'the same processes serve, never restarted');
    } finally {
      const down = await runCli(['--config', file, 'down', '--yes'], { cwd: dir, env, timeoutMs: 60_000 });
      if (down.code !== 0) first.kill('SIGKILL');
      await waitForExit(first);
      assert.equal(down.code, 0, down.stderr);
    }
  });

  it('an address this machine does not have: ADDRESS_NOT_AVAILABLE', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never an address of this machine.
    const file = await configFile('foreign', {
      proxy: `192.0.2.7:${await findFreePort()}`,
      admin: `127.0.0.1:${await findFreePort()}`,
    });
    const result = await server(file);
    assert.equal(result.code, EXIT.FAILED, result.stderr);
    assert.match(
      result.stderr,
      /ADDRESS_NOT_AVAILABLE: the proxy cannot listen on 192\.0\.2\.7:\d+: 192\.0\.2\.7 is not an address/,
    );
    assert.match(result.stderr, /hint: Change server\.proxy to an address this machine has/);
  });

  it('a port that needs privileges: PORT_PERMISSION_DENIED with the two ways out (no real low port: tests may run as root)', () => {
    const error = listenError({ what: 'the proxy', key: 'server.proxy', host: '0.0.0.0', port: 80 }, 'EACCES');
    assert.equal(error?.code, 'PORT_PERMISSION_DENIED');
    assert.match(error?.message ?? '', /the proxy has no permission to listen on 0\.0\.0\.0:80 \(EACCES\)/);
    assert.match(error?.hint ?? '', /change server\.proxy to a port from 1024 up/);
    assert.match(error?.hint ?? '', /cap_net_bind_service/);
    assert.equal(listenError({ what: 'x', key: 'k', host: 'h', port: 1 }, 'ECONNRESET'), null, 'other causes stay');
  });

  it('CUTOVER_URL at the proxy: SERVER_NOT_CUTOVER asking whether it is the proxy port', async () => {
    const result = await status(harness.proxyUrl);
    assert.equal(result.code, EXIT.UNREACHABLE, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `SERVER_NOT_CUTOVER: CUTOVER_URL points at http://127\\.0\\.0\\.1:${harness.proxyPort}, which is not cutover's admin API \\(is it the proxy port\\?`,
      ),
    );
    assert.match(result.stderr, /hint: Point CUTOVER_URL \(or --url\) at the admin address, server\.admin/);
  });

  it('CUTOVER_URL at another web server answering JSON: SERVER_NOT_CUTOVER, not a crash', async () => {
    const result = await status(webUrl);
    assert.equal(result.code, EXIT.UNREACHABLE, result.stderr);
    assert.match(
      result.stderr,
      /SERVER_NOT_CUTOVER: CUTOVER_URL points at http:\/\/127\.0\.0\.1:\d+, which is not cutover's admin API \(is it the proxy port\? it answered HTTP 200, application\/json\)/,
    );
    assert.doesNotMatch(result.stderr, /INTERNAL|Cannot read properties/);
    const viaFlag = await runCli(['--url', webUrl, '--token', 'x'.repeat(40), 'history', 'web'], { cwd: dir });
    assert.match(viaFlag.stderr, /SERVER_NOT_CUTOVER: --url points at/);
  });

  it('server.admin held by another web server: says so, naming server.admin', async () => {
    const port = Number(new URL(webUrl).port);
    const file = await configFile('admin-foreign', {
      proxy: `127.0.0.1:${await findFreePort()}`,
      admin: `127.0.0.1:${port}`,
    });
    const result = await runCli(['--config', file, '--token', 'x'.repeat(40), 'status'], { cwd: dir });
    assert.equal(result.code, EXIT.UNREACHABLE, result.stderr);
    assert.match(
      result.stderr,
      /SERVER_NOT_CUTOVER: the admin address in cutover\.yaml \(server\.admin\) is http:\/\/127\.0\.0\.1:\d+, but what answers there is not cutover's admin API/,
    );
    assert.match(result.stderr, /hint: Another program holds that port/);
  });

  it('a URL where nothing listens, or nothing speaks HTTP, or nothing answers', async () => {
    const refused = await status(`http://127.0.0.1:${await findFreePort()}`);
    assert.equal(refused.code, EXIT.UNREACHABLE);
    assert.match(
      refused.stderr,
      /SERVER_UNREACHABLE: cannot reach the cutover server at .* \(ECONNREFUSED: nothing listens there\)/,
    );
    assert.match(refused.stderr, /hint: Start it with `cutover server --config cutover\.yaml`, or fix CUTOVER_URL/);

    const notHttp = net.createServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n'));
    const silent = net.createServer(() => {});
    const open: net.Socket[] = [];
    // Closed by the test, whatever the client did with them (a half-closed socket would hold close() up).
    for (const server of [notHttp, silent]) server.on('connection', (socket) => open.push(socket));
    await new Promise<void>((resolve) => notHttp.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const ssh = await status(`http://127.0.0.1:${(notHttp.address() as net.AddressInfo).port}`);
      assert.equal(ssh.code, EXIT.UNREACHABLE, ssh.stderr);
      assert.match(ssh.stderr, /SERVER_NOT_CUTOVER: .* it does not speak HTTP/);

      const client = new AdminClient(
        { url: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, token: 't', source: 'CUTOVER_URL' },
        { answerWithinMs: 300 },
      );
      await assert.rejects(client.request('GET', '/api/v1/services'), (error: unknown) => {
        assert.ok(isCutoverError(error) && error.code === 'SERVER_TIMEOUT', String(error));
        assert.match(error.message, /accepted the connection but did not answer within 0\.3 s/);
        return true;
      });
    } finally {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => notHttp.close(resolve));
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("a command that asks the server needs none of the services' secrets (database.url: ${DATABASE_URL} unset)", async () => {
    const file = path.join(dir, 'with-secret.yaml');
    fs.writeFileSync(
      file,
      `server:
  admin: 127.0.0.1:${harness.adminPort}
  state_dir: ${path.join(harness.dir, 'state')}
services:
  web:
    command: node server.js
    cwd: ${SAMPLE_APP}
    database:
      url: \${DATABASE_URL}
`,
    );
    const result = await runCli(['--config', file, 'status', 'web'], { cwd: dir });
    assert.equal(result.code, EXIT.OK, result.stderr);
    assert.match(result.stdout, /^web\s+web\.localhost/, 'the server answered with what it knows');
  });

  it('a CUTOVER_URL that is not a URL is a usage error', async () => {
    const result = await status('localhost:9900');
    assert.equal(result.code, EXIT.USAGE, result.stderr);
    assert.match(result.stderr, /BAD_REQUEST: CUTOVER_URL is not an http:\/\/ URL: "localhost:9900"/);
  });
});
