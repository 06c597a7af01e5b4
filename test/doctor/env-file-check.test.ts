import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load-config.js';
import { runDoctor } from '../../src/doctor/doctor-checks.js';

// `cutover doctor` reads each service's env files as a deploy will: a missing one fails with its path
// (every deploy of the service would be refused), a readable one says how many variables, never a value.
describe('doctor: env_file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-doctor-env-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('passes readable files and fails a missing one with its path and the fix', async () => {
    fs.writeFileSync(path.join(dir, 'web.env'), 'A=1\nAPI_TOKEN=do-not-show-me\n');
    const file = path.join(dir, 'cutover.yaml');
    fs.writeFileSync(
      file,
      `server: { state_dir: ./state }
services:
  web: { command: node x.js, hosts: [web.localhost], env_file: ./web.env }
  api: { command: node x.js, hosts: [api.localhost], env_file: [./web.env, ./missing.env] }
  plain: { command: node x.js, hosts: [plain.localhost] }
`,
    );
    parseConfig(fs.readFileSync(file, 'utf8'), file, { env: {} });
    const results = await runDoctor({ configFile: file, env: {} });
    const byId = new Map(results.map((r) => [r.id, r]));
    assert.equal(byId.get('env-file.web')?.status, 'ok');
    assert.match(byId.get('env-file.web')?.message ?? '', /1 env file\(s\), 2 variable\(s\)/);
    assert.equal(byId.get('env-file.api')?.status, 'fail');
    assert.ok(byId.get('env-file.api')?.message.includes(path.join(dir, 'missing.env')));
    assert.match(byId.get('env-file.api')?.fix ?? '', /services\.api\.env_file/);
    assert.equal(byId.has('env-file.plain'), false);
    assert.ok(!JSON.stringify(results).includes('do-not-show-me'));
  });
});
