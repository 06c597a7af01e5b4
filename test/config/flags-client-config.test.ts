import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueAt, issuesOf, parse } from './issues-of.js';

/**
 * `flags.client.allowed_origins`: the browser origins granted CORS on OFREP.
 * Each is compared byte for byte with the Origin header, so anything a
 * browser would never send is refused at load instead of silently never matching.
 */
const SERVICES = `services:
  web: { command: node server.js }
`;

describe('flags.client.allowed_origins', () => {
  it('defaults to none', () => {
    assert.deepEqual(parse(SERVICES).flags.client.allowedOrigins, []);
  });

  it('takes origins, one or a list, without duplicates', () => {
    const config = parse(
      `${SERVICES}flags:\n  client:\n    allowed_origins: [https://app.example.com, http://localhost:5173, https://app.example.com]\n`,
    );
    assert.deepEqual(config.flags.client.allowedOrigins, ['https://app.example.com', 'http://localhost:5173']);
    const one = parse(`${SERVICES}flags:\n  client:\n    allowed_origins: https://app.example.com\n`);
    assert.deepEqual(one.flags.client.allowedOrigins, ['https://app.example.com']);
  });

  for (const [value, why] of [
    ['https://app.example.com/', 'a trailing slash'],
    ['https://app.example.com/app', 'a path'],
    ['https://App.example.com', 'capitals the browser lowercases'],
    ['app.example.com', 'no scheme'],
    ['ftp://app.example.com', 'not http(s)'],
    ['"*"', 'a wildcard'],
  ]) {
    it(`refuses ${why}: ${value}`, () => {
      const { byPath } = issuesOf(`${SERVICES}flags:\n  client:\n    allowed_origins: [${value}]\n`);
      assert.match(issueAt(byPath, 'flags.client.allowed_origins[0]').message, /expected an origin like https:/);
    });
  }

  it('refuses an unknown key under flags.client', () => {
    const { byPath } = issuesOf(`${SERVICES}flags:\n  client:\n    origins: [https://app.example.com]\n`);
    assert.ok(byPath.has('flags.client.origins'), [...byPath.keys()].join(', '));
  });
});
