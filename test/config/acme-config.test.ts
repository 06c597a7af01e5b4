import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acmeSchema, LETS_ENCRYPT_PRODUCTION_DIRECTORY, resolveAcme } from '../../src/config/acme-schema.js';

/** `server.acme`: checked once, defaulted to Let's Encrypt production, ca_bundle made absolute. */
describe('server.acme config', () => {
  it("defaults to Let's Encrypt production", () => {
    assert.deepEqual(resolveAcme(undefined, '/etc/cutover'), { directoryUrl: LETS_ENCRYPT_PRODUCTION_DIRECTORY });
  });

  it('takes any RFC 8555 directory by URL, an email and a CA bundle relative to the config', () => {
    const raw = acmeSchema.parse({
      directory: 'https://127.0.0.1:14000/dir',
      email: 'ops@example.com',
      ca_bundle: 'certs/pebble.pem',
    });
    assert.deepEqual(resolveAcme(raw, '/etc/cutover'), {
      directoryUrl: 'https://127.0.0.1:14000/dir',
      email: 'ops@example.com',
      caBundlePath: '/etc/cutover/certs/pebble.pem',
    });
  });

  it('refuses what is not a directory URL, an email or a path, and unknown keys', () => {
    for (const bad of [
      { directory: 'ftp://ca.example.com/dir' },
      { directory: 'not a url' },
      { email: 'not-an-email' },
      { email: 'a@b' },
      { email: 'x@example.com\nBcc: y@example.com' },
      { ca_bundle: '' },
      { directroy: 'https://ca.example.com/dir' },
    ]) {
      assert.equal(acmeSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});
