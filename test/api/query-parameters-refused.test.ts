import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { operate } from '../support/operations.js';
import { runCli } from '../support/cli-process.js';

/**
 * The admin API read its numeric query parameters as `Number(x) || default`:
 * `/flags/:key/history?limit=abc`, `/services/:name/logs?lines=-5` and
 * `/operations/:id?after=xyz` answered as if nothing had been asked (50
 * entries, 100 lines, every event) and `?follow=yes` as no follow, so a
 * script with a typo never learnt of it. Each is now refused with 400
 * BAD_REQUEST naming the parameter and the value; a good value still works,
 * and `cutover logs -n abc` says so in the option's words before it asks.
 */
describe('admin API query parameters are refused, not ignored', () => {
  let h: Harness;
  let operationId: string;
  const get = async (url: string) => {
    const response = await request(`${h.server.adminUrl}${url}`, {
      headers: { authorization: `Bearer ${h.server.token}` },
    });
    const text = await response.body.text();
    return { status: response.statusCode, text };
  };

  before(async () => {
    h = await startHarness({ instances: 1, strategy: '{ type: blue-green, auto_switch: true, timeout: 10s }' });
    const { operation } = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(operation.outcome, 'succeeded');
    operationId = operation.id;
    await h.client.request('POST', '/admin/feature-flags/', { flag: 'new_checkout', enabled_for: '10%', config: {} });
  });

  after(async () => {
    await h?.close();
  });

  const refused: [string, string, RegExp][] = [
    ['flag history limit=abc', '/api/v1/flags/new_checkout/history?limit=abc', /^limit: .*got "abc"/],
    ['flag history limit=-1', '/api/v1/flags/new_checkout/history?limit=-1', /^limit: .*got "-1"/],
    ['flag history limit=0', '/api/v1/flags/new_checkout/history?limit=0', /^limit: .*from 1 to 1000/],
    ['flag history limit twice', '/api/v1/flags/new_checkout/history?limit=1&limit=2', /^limit: .*send it once/],
    ['logs lines=abc', '/api/v1/services/web/logs?lines=abc', /^lines: .*got "abc"/],
    ['logs lines=-5', '/api/v1/services/web/logs?lines=-5', /^lines: .*got "-5"/],
    ['logs lines=1e3', '/api/v1/services/web/logs?lines=1e3', /^lines: .*got "1e3"/],
    ['logs lines over the limit', '/api/v1/services/web/logs?lines=10001', /^lines: .*from 1 to 10000/],
    ['logs follow=yes', '/api/v1/services/web/logs?follow=yes', /^follow: expected true, false, 1 or 0, got "yes"/],
  ];
  for (const [what, url, message] of refused) {
    it(`refuses ${what} with 400 BAD_REQUEST naming it`, async () => {
      const answer = await get(url);
      assert.equal(answer.status, 400, answer.text);
      const { error } = JSON.parse(answer.text) as { error: { code: string; message: string } };
      assert.equal(error.code, 'BAD_REQUEST');
      assert.match(error.message, message);
    });
  }

  it('refuses an operation cursor that is not a whole number', async () => {
    for (const after of ['xyz', '-3', '2.5']) {
      const answer = await get(`/api/v1/operations/${operationId}?after=${after}`);
      assert.equal(answer.status, 400, answer.text);
      assert.match(answer.text, /after: expected a whole number from 0 up/);
    }
  });

  it('still answers good values', async () => {
    const history = await get('/api/v1/flags/new_checkout/history?limit=1');
    assert.equal(history.status, 200, history.text);
    assert.equal((JSON.parse(history.text) as { entries: unknown[] }).entries.length, 1);
    const logs = await get('/api/v1/services/web/logs?lines=2&follow=false');
    assert.equal(logs.status, 200, logs.text);
    assert.equal(logs.text.trimEnd().split('\n').length, 2);
    const operation = await get(`/api/v1/operations/${operationId}?after=0`);
    assert.equal(operation.status, 200, operation.text);
    assert.ok((JSON.parse(operation.text) as { events: unknown[] }).events.length > 0);
  });

  it('cutover logs -n abc is refused in the option’s words, exit 2', async () => {
    const result = await runCli(['logs', 'web', '-n', 'abc'], {
      cwd: h.dir,
      env: { CUTOVER_URL: h.server.adminUrl, CUTOVER_TOKEN: h.server.token },
    });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /-n\/--lines: expected a whole number from 1 to 10000, got "abc"/);
    assert.equal(result.stdout, '');
  });
});
