import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { ServiceStatus } from '../../../src/controller/service-status.js';
import { rotateLog } from '../../../src/runtime/process/log-rotation.js';
import { SAMPLE_APP, startHarness, type Harness } from '../../support/cutover-harness.js';
import { operate, sleep } from '../../support/operations.js';

// Finding 18 of issue 12: instance logs were never rotated nor deleted, so a
// chatty app filled the disk of the state directory. Now a log past
// server.logs.max_size is rotated (copytruncate: <log>.1 ... <log>.keep), and
// a pruned release's log directory is deleted.
describe('instance logs are rotated by size and deleted with their pruned release', () => {
  let h: Harness;
  const MAX = 64 * 1024;
  const logsOf = (releaseId: string): string => path.join(h.dir, 'state', 'logs', 'chatty', releaseId);

  before(async () => {
    h = await startHarness({
      serverYaml: '  logs: { max_size: 64KiB, keep: 2 }\n',
      extraServiceYaml: `  chatty:
    hosts: [chatty.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    rollback_limit: 2
    health: { path: /health, interval: 200ms }
    strategy: { type: blue-green, auto_switch: true, auto_cleanup: true, timeout: 20s }
`,
    });
  });
  after(async () => {
    await h?.close();
  });

  it("a chatty instance's log stays bounded, with at most keep rotated files, and cutover logs still reads it", async () => {
    const { operation } = await operate(h.client, '/api/v1/services/chatty/deploy', { version: 'v1-chatty' });
    assert.equal(operation.outcome, 'succeeded');
    const dir = logsOf(operation.releaseId!);
    const log = path.join(dir, 'blue-0.log');
    // About 200 KiB/s against a 64 KiB bound checked every 2 s: several rotations in 7 s.
    let largest = 0;
    for (let i = 0; i < 35; i++) {
      await sleep(200);
      largest = Math.max(largest, fs.statSync(log).size);
    }
    const files = fs.readdirSync(dir).sort();
    assert.deepEqual(
      files,
      ['blue-0.log', 'blue-0.log.1', 'blue-0.log.2'],
      'the log and keep (2) rotated files, no more',
    );
    // Between two checks the app adds at most ~2 s of output (~400 KiB): bounded, not growing for ever.
    assert.ok(largest < MAX + 1024 * 1024, `the live log stayed bounded (largest seen ${largest} bytes)`);
    for (const rotated of ['blue-0.log.1', 'blue-0.log.2']) {
      const size = fs.statSync(path.join(dir, rotated)).size;
      assert.ok(size > MAX, `${rotated} holds a full log (${size} bytes)`);
      assert.equal(fs.statSync(path.join(dir, rotated)).mode & 0o777, 0o600);
    }
    const response = await request(`${h.server.adminUrl}/api/v1/services/chatty/logs?lines=3`, {
      headers: { authorization: `Bearer ${h.server.token}` },
    });
    assert.equal(response.statusCode, 200);
    assert.match(
      await response.body.text(),
      /\[blue-0\] \d+ sample-app v1-chatty instance 0: x{100}/,
      'cutover logs still reads the current log after rotations',
    );
  });

  it("a pruned release's log directory is deleted", async () => {
    const first = (await h.client.request<ServiceStatus>('GET', '/api/v1/services/chatty')).active!.releaseId;
    assert.ok(fs.existsSync(logsOf(first)));
    for (const version of ['v2', 'v3']) {
      const { operation } = await operate(h.client, '/api/v1/services/chatty/deploy', { version });
      assert.equal(operation.outcome, 'succeeded');
    }
    // rollback_limit 2 counts the active release: v3 serves, v2 stays for a rollback, v1 goes.
    // Pruning follows the old release's drain, which may end after the deploy reported success.
    type History = { releases: { id: string; version: string; state: string }[] };
    let history: History = { releases: [] };
    for (let i = 0; i < 100; i++) {
      history = await h.client.request<History>('GET', '/api/v1/services/chatty/history');
      if (history.releases.find((r) => r.id === first)?.state === 'pruned') break;
      await sleep(100);
    }
    assert.equal(history.releases.find((r) => r.id === first)?.state, 'pruned');
    assert.equal(fs.existsSync(logsOf(first)), false, "the pruned release's logs are gone");
    const kept = history.releases.filter((r) => r.version === 'v2' || r.version === 'v3');
    assert.equal(kept.length, 2);
    for (const release of kept) {
      assert.notEqual(release.state, 'pruned', `${release.version} is within the rollback limit`);
      assert.ok(fs.existsSync(logsOf(release.id)), `the logs of ${release.id} (not pruned) are kept`);
    }
  });

  it('rotation keeps what was written, shifting old files and dropping the oldest', () => {
    const file = path.join(h.dir, 'unit.log');
    fs.writeFileSync(file, 'one\n');
    rotateLog(file, 2);
    fs.appendFileSync(file, 'two\n');
    rotateLog(file, 2);
    fs.appendFileSync(file, 'three\n');
    rotateLog(file, 2);
    assert.equal(fs.readFileSync(file, 'utf8'), '');
    assert.equal(fs.readFileSync(`${file}.1`, 'utf8'), 'three\n');
    assert.equal(fs.readFileSync(`${file}.2`, 'utf8'), 'two\n');
    assert.equal(fs.existsSync(`${file}.3`), false);
  });
});
