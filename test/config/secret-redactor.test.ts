import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecretName, SecretRedactor } from '../../src/config/secret-redactor.js';

describe('SecretRedactor', () => {
  it('replaces known values wherever they appear, also JSON-escaped and URL-encoded', () => {
    const redactor = new SecretRedactor(['sk_live_abcdef', 'p@ss "word"/x']);
    assert.equal(redactor.redactText('key=sk_live_abcdef; again sk_live_abcdef'), 'key=[redacted]; again [redacted]');
    assert.equal(redactor.redactText(JSON.stringify({ v: 'p@ss "word"/x' })), '{"v":"[redacted]"}');
    assert.equal(redactor.redactText(`q=${encodeURIComponent('p@ss "word"/x')}`), 'q=[redacted]');
  });

  it('takes URL passwords and sensitive query values out of any text, keeping the rest', () => {
    const redactor = SecretRedactor.none();
    assert.equal(
      redactor.redactText('cannot reach postgres://app:unknown-pw@db:5432/app: refused'),
      'cannot reach postgres://app:[redacted]@db:5432/app: refused',
    );
    assert.equal(
      redactor.redactText('GET http://h/x?window=5m&api_key=abc123&password=zz'),
      'GET http://h/x?window=5m&api_key=[redacted]&password=[redacted]',
    );
  });

  it('ignores values under 6 characters, and redacts nested values', () => {
    const redactor = new SecretRedactor(['none', 'hunter2']);
    assert.deepEqual(redactor.redactValue({ a: ['none', 'x hunter2 y'], b: 3 }), {
      a: ['none', 'x [redacted] y'],
      b: 3,
    });
  });

  it('knows secret-looking names, including DATABASE_URL and *_KEY', () => {
    for (const name of ['DATABASE_URL', 'STRIPE_KEY', 'GITHUB_TOKEN', 'DB_PASSWORD', 'SENTRY_DSN'])
      assert.ok(isSecretName(name), name);
    for (const name of ['PORT', 'APP_VERSION', 'LOG_LEVEL']) assert.ok(!isSecretName(name), name);
    assert.ok(isSecretName('UPSTREAM_COOKIE', ['UPSTREAM_COOKIE']));
  });
});
