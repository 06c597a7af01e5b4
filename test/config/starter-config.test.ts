import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { knownKeysAt } from '../../src/config/config-schema.js';
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
    const minimal = parseConfig(
      'services: { web: { command: node server.js, cwd: ./app } }',
      '/srv/site/cutover.yaml',
      { env: {} },
    );
    assert.deepEqual(starter, minimal);
  });

  it('mentions every key the schema accepts', () => {
    const service = ['services', 'web'];
    const paths = [
      [],
      ['server'],
      service,
      [...service, 'health'],
      [...service, 'strategy'],
      [...service, 'strategy', 'smoke', 0],
      ['flags'],
      ['flags', 'client'],
    ];
    for (const path of paths) {
      for (const key of knownKeysAt(path)) {
        assert.match(
          STARTER_CONFIG,
          new RegExp(`\\b${key}:`),
          `the starter does not mention ${[...path, key].join('.')}`,
        );
      }
    }
  });
});
