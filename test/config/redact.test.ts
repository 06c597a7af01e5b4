import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load-config.js';
import { REDACTED, redactEnv, redactServiceConfig } from '../../src/config/redact.js';

describe('redaction', () => {
  it('hides listed keys and keys that look secret, and keeps the rest', () => {
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u:p@db/app',
      STRIPE_API_KEY: 'sk_live',
      GITHUB_TOKEN: 'ghp',
      DB_PASSWORD: 'pw',
      PRIVATE_KEY: 'pem',
      AUTH_HEADER: 'Bearer x',
      MY_SECRET: 's',
      AWS_CREDENTIALS: 'c',
      PORT_HINT: '3000',
    };
    assert.deepEqual(redactEnv(env, ['DATABASE_URL']), {
      NODE_ENV: 'production',
      DATABASE_URL: REDACTED,
      STRIPE_API_KEY: REDACTED,
      GITHUB_TOKEN: REDACTED,
      DB_PASSWORD: REDACTED,
      PRIVATE_KEY: REDACTED,
      AUTH_HEADER: REDACTED,
      MY_SECRET: REDACTED,
      AWS_CREDENTIALS: REDACTED,
      PORT_HINT: '3000',
    });
    assert.equal(env.DATABASE_URL, 'postgres://u:p@db/app', 'the input is not modified');
  });

  it('snapshots a service config as JSON with env values from ${NAME} redacted by key', () => {
    const service = parseConfig(
      'services:\n  web:\n    command: a\n    secrets: [DATABASE_URL]\n    env: { DATABASE_URL: "${DB}", API_TOKEN: "${TOK}", MODE: fast }\n',
      null,
      { env: { DB: 'postgres://secret-host/db', TOK: 't0k3n' } },
    ).services.web;
    assert.ok(service);
    const snapshot = redactServiceConfig(service);
    assert.deepEqual(snapshot.env, { DATABASE_URL: REDACTED, API_TOKEN: REDACTED, MODE: 'fast' });
    assert.equal(service.env.DATABASE_URL, 'postgres://secret-host/db', 'the live config keeps its values');
    const json = JSON.stringify(snapshot);
    assert.ok(!json.includes('secret-host') && !json.includes('t0k3n'));
    assert.deepEqual(JSON.parse(json), snapshot);
  });
});
