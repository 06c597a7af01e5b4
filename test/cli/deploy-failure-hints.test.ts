import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit-codes.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, runCli, startServerProcess } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';

// A newcomer's first deploys of their own app, through the real CLI against a real server: a typo in the
// program's name, a health path the app does not serve, an app that listens on a port of its own. Each
// failure used to end with "`cutover logs ...` shows the instance output", where the log is empty or says
// nothing about the cause; the hint now names the field of cutover.yaml to change.
describe('a failed first deploy says which field of cutover.yaml to fix', () => {
  let dir: string;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir, timeoutMs: 30_000 });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-failure-hints-'));
    // The user's own app: it serves its health at /healthz, and 404 anywhere else.
    fs.writeFileSync(
      path.join(dir, 'app.mjs'),
      `import http from 'node:http';
http.createServer((req, res) => { res.writeHead(req.url === '/healthz' ? 200 : 404); res.end(); })
  .listen(Number(process.env.PORT), '127.0.0.1');
`,
    );
    const proxyPort = await findFreePort();
    const adminPort = await findFreePort();
    const service = (name: string, command: string, cwd: string, healthPath: string) => `  ${name}:
    command: ${command}
    cwd: ${cwd}
    env: { APP_VERSION: "\${VERSION}" }
    health: { path: ${healthPath}, interval: 200ms }
    strategy: { type: blue-green, auto_switch: true, timeout: 3s }
`;
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${proxyPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
services:
${service('typo', 'nodee app.mjs', dir, '/healthz')}${service('wrong-path', 'node app.mjs', dir, '/health')}${service('own-port', 'node server.js', SAMPLE_APP, '/health')}`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
  });

  after(async () => {
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a program not on the PATH: the hint names services.<name>.command and doctor', async () => {
    const result = await cli('deploy', 'typo', '--version', 'v1');
    assert.equal(result.code, EXIT.FAILED, result.stderr);
    assert.match(result.stderr, /nodee: not found .*\(INSTANCE_START_FAILED\)/);
    assert.match(result.stderr, /hint: Check services\.typo\.command \(nodee app\.mjs\) and services\.typo\.cwd/);
    assert.match(result.stderr, /cutover doctor/);
  });

  it('a health path the app answers with 404: the hint names services.<name>.health.path', async () => {
    const result = await cli('deploy', 'wrong-path', '--version', 'v1');
    assert.equal(result.code, EXIT.FAILED, result.stderr);
    assert.match(result.stderr, /HTTP 404/);
    assert.match(result.stderr, /hint: The app answers 404 at services\.wrong-path\.health\.path \(\/health\)/);
    const json = await cli('deploy', 'wrong-path', '--version', 'v2', '--json');
    const answer = JSON.parse(json.stdout) as { operation: { error: { hint: string } } };
    assert.match(answer.operation.error.hint, /services\.wrong-path\.health\.path/, 'scripts and the API get it too');
  });

  it('an app that never opens the port it is given: the hint says to listen on PORT', async () => {
    // The sample app's *noport* build runs but never listens: as an app bound to a port of its own.
    const result = await cli('deploy', 'own-port', '--version', 'v1-noport');
    assert.equal(result.code, EXIT.TIMED_OUT, result.stderr);
    assert.match(result.stderr, /ECONNREFUSED.*\(HEALTH_TIMEOUT\)/);
    assert.match(result.stderr, /hint: Nothing listened on the instance's port: the app must listen on .*PORT/);
    assert.match(result.stderr, /raise services\.own-port\.strategy\.timeout \(3 s\)/);
  });
  it("a bad option value is refused in the command's terms, not the API's request body", async () => {
    const maintenance = await cli('maintenance', 'on', 'typo', '--retry-after', 'soon');
    assert.equal(maintenance.code, EXIT.USAGE, maintenance.stderr);
    assert.match(maintenance.stderr, /BAD_REQUEST: --retry-after: expected a duration/);
    assert.match(maintenance.stderr, /hint: Run `cutover maintenance on --help` for what each option takes/);
    assert.doesNotMatch(maintenance.stderr, /request body|retryAfter/);
    const slot = await cli('switch', 'typo', 'purple');
    assert.equal(slot.code, EXIT.USAGE, slot.stderr);
    assert.match(slot.stderr, /BAD_REQUEST: <slot>: .*"blue"\|"green"/);
    assert.match(slot.stderr, /hint: Run `cutover switch --help`/);
  });
});
