import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load-config.js';
import { STARTER_CONFIG } from '../../src/config/starter-config.js';

describe('the starter config written by `cutover init`', () => {
  it('loads without error and runs node server.js in ./app', () => {
    const config = parseConfig(STARTER_CONFIG, '/srv/site/cutover.yaml', { env: {} });
    assert.equal(config.services.web?.command, 'node server.js');
    assert.equal(config.services.web?.cwd, '/srv/site/app');
  });

  it('documents the real defaults: it resolves exactly like a file that sets only command and cwd', () => {
    const starter = parseConfig(STARTER_CONFIG, '/srv/site/cutover.yaml', { env: {} });
    const minimal = parseConfig('services: { web: { command: node server.js, cwd: ./app } }', '/srv/site/cutover.yaml', { env: {} });
    assert.deepEqual(starter, minimal);
  });

  it('mentions every key the schema accepts', () => {
    const keys = ['proxy', 'admin', 'state_dir', 'hosts', 'default', 'runtime', 'command', 'cwd', 'env', 'secrets', 'instances',
      'health', 'type', 'path', 'expect_status', 'interval', 'timeout', 'healthy_threshold', 'unhealthy_threshold', 'retries',
      'start_period', 'strategy', 'auto_switch', 'auto_cleanup', 'scale_down_delay', 'smoke', 'method', 'drain_timeout',
      'stop_grace_period', 'rollback_limit', 'tcp'];
    for (const key of keys) assert.match(STARTER_CONFIG, new RegExp(`\\b${key}\\b`), `the starter does not mention ${key}`);
  });
});
