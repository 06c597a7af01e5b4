import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startHarness, type Harness } from '../support/cutover-harness.js';

/**
 * Finding 13 (a, b) of issue 12: segment names were not validated (`a\nb;}`
 * was stored, then carried into SSE frames, logs and the dashboard), and a
 * body over the limit was answered 413 with the code BAD_REQUEST. Segment
 * names now follow the flag key grammar; 413 carries PAYLOAD_TOO_LARGE.
 */
interface Answer {
  status: number;
  body: { error?: { code: string; message: string }; segments?: Record<string, unknown> };
}

describe('segment name grammar and the 413 code', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ instances: 1 });
  });
  after(async () => {
    await h?.close();
  });

  const call = async (method: 'GET' | 'PUT' | 'POST', url: string, payload?: string): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${h.server.token}` };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const response = await request(`${h.server.adminUrl}${url}`, { method, headers, body: payload });
    return { status: response.statusCode, body: (await response.body.json()) as Answer['body'] };
  };
  const constraints = JSON.stringify({
    constraints: [{ operator: 'in', attribute: 'email', values: ['a@example.com'] }],
  });

  it('refuses segment names outside the flag key grammar with 400 naming the rule, and stores none of them', async () => {
    for (const name of ['a\nb;}', 'a b', '-leading-dash', '<script>', 'naïve', '.hidden']) {
      const refused = await call('PUT', `/api/v1/segments/${encodeURIComponent(name)}`, constraints);
      assert.equal(refused.status, 400, JSON.stringify(name));
      assert.match(
        refused.body.error!.message,
        /segment name of letters, digits, "\.", "_" and "-", starting with a letter or digit/,
      );
    }
    const accepted = await call('PUT', '/api/v1/segments/beta_testers.eu-1', constraints);
    assert.equal(accepted.status, 200);
    const listed = await call('GET', '/api/v1/segments');
    assert.deepEqual(Object.keys(listed.body.segments!), ['beta_testers.eu-1']);
  });

  it('answers a body over the limit with 413 and the code PAYLOAD_TOO_LARGE', async () => {
    const huge = JSON.stringify({ flag: { key: 'big', description: 'x'.repeat(1024 * 1024 + 10) } });
    const tooLarge = await call('POST', '/api/v1/flags', huge);
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.body.error!.code, 'PAYLOAD_TOO_LARGE');
    const seeds = await call(
      'POST',
      '/admin/feature-flags/',
      JSON.stringify({ flag: 'big', enabled_for: '10%', config: { pad: 'x'.repeat(100 * 1024) } }),
    );
    assert.equal(seeds.status, 413);
    assert.equal(seeds.body.error!.code, 'PAYLOAD_TOO_LARGE');
  });
});
