import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startHarness, type Harness } from '../support/cutover-harness.js';

/**
 * The seeds' POST /admin/feature-flags/ built its flag from the body and
 * stored it without the flag schema, so `{"flag": "bad key", ...}` was
 * stored (201) under a key /api/v1/flags refuses, which every SDK then
 * answered with PARSE_ERROR. The key now follows the flag key grammar there
 * too, and a refused key changes nothing.
 */
interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

describe("the seeds' endpoint and the flag key grammar", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ instances: 1 });
  });
  after(async () => {
    await h?.close();
  });

  const call = async (method: 'GET' | 'POST', url: string, body?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${h.server.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await request(`${h.server.adminUrl}${url}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.statusCode, body: await response.body.json() };
  };

  it('refuses a key the flag API refuses with 400 naming the field, and stores nothing', async () => {
    const before = (await call('GET', '/api/v1/flags')).body.revision as number;
    for (const key of ['bad key', 'a/b', '-leading-dash', 'naïve', 'x'.repeat(201), 'new\npayment']) {
      const refused = await call('POST', '/admin/feature-flags/', { flag: key, enabled_for: '10%' });
      assert.equal(refused.status, 400, JSON.stringify(key));
      assert.equal(refused.body.error.code, 'BAD_REQUEST');
      assert.match(refused.body.error.message, /flag: expected a (flag )?key/, JSON.stringify(key));
    }
    const listed = await call('GET', '/api/v1/flags');
    assert.deepEqual(listed.body.flags, []);
    assert.equal(listed.body.revision, before);
    const created = await call('POST', '/admin/feature-flags/', { flag: 'new_payment.system-2', enabled_for: '10%' });
    assert.equal(created.status, 201);
  });
});
