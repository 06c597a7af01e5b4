import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, configHash } from '../../src/config/config-hash.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { ServiceConfig } from '../../src/config/types.js';

function service(text: string): ServiceConfig {
  const web = parseConfig(text, '/srv/cutover.yaml', { env: {} }).services.web;
  assert.ok(web);
  return web;
}

describe('configHash', () => {
  const base = 'services:\n  web:\n    command: node server.js\n    instances: 2\n    env: { A: "1", B: "2" }\n';
  const reordered = 'services:\n  web:\n    env: { B: "2", A: "1" }\n    instances: 2\n    command: node server.js\n';

  it('is a sha256 hex that ignores the order of keys', () => {
    const hash = configHash(service(base));
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.equal(configHash(service(reordered)), hash);
  });

  it('changes when any field changes, secrets included', () => {
    const hash = configHash(service(base));
    assert.notEqual(configHash(service(base.replace('instances: 2', 'instances: 3'))), hash);
    assert.notEqual(configHash(service(base.replace('"2"', '"two"'))), hash);
    assert.notEqual(configHash(service(`${base}    drain_timeout: 31s\n`)), hash);
  });

  it('writes canonical JSON with sorted keys at every level', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 0 }], c: null } }),
      '{"a":{"c":null,"d":[2,{"y":0,"z":1}]},"b":1}',
    );
  });
});
