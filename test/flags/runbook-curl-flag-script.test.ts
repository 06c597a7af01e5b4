import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { startHarness, type Harness } from '../support/cutover-harness.js';

/**
 * Finding 14 of issue 12: the runbook's own flag script failed. It enables
 * a flag with `curl -X POST .../admin/feature-flags/ -H "Authorization:
 * Bearer $ADMIN_TOKEN" -d '{...}'`; curl labels a -d body
 * application/x-www-form-urlencoded, and cutover answered 415. This runs
 * that command line with the real curl (no shell, the same arguments), at
 * 10%, 50% and 100% as in the runbook, and checks what the flag evaluates to.
 */
const run = promisify(execFile);
const USERS = 400;

describe('the runbook curl flag script', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ instances: 1 });
  });
  after(async () => {
    await h?.close();
  });

  // The runbook's line, argument for argument (only the URL and token are this server's).
  const runbookCurl = async (enabledFor: string): Promise<Record<string, unknown>> => {
    const { stdout } = await run('curl', [
      '-X',
      'POST',
      `${h.server.adminUrl}/admin/feature-flags/`,
      '-H',
      `Authorization: Bearer ${h.server.token}`,
      '-d',
      `{"flag": "new_payment_system", "enabled_for": "${enabledFor}", "config": {"payment_provider": "new_system"}}`,
    ]);
    return JSON.parse(stdout) as Record<string, unknown>;
  };

  const usersOn = async (): Promise<number> => {
    let on = 0;
    for (let i = 0; i < USERS; i++) {
      const answer = await request(`${h.server.adminUrl}/api/v1/flags/new_payment_system/evaluate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ context: { userId: `user-${i}` } }),
      });
      const body = (await answer.body.json()) as { variant: string; value: unknown };
      if (body.variant === 'on') {
        on++;
        assert.deepEqual(body.value, { payment_provider: 'new_system' });
      }
    }
    return on;
  };

  it('enables the flag for 10%, then 50%, then 100% with the exact curl line of the runbook', async () => {
    const ten = await runbookCurl('10%');
    assert.equal(ten.error, undefined, JSON.stringify(ten));
    assert.equal(ten.enabled_for, '10%');
    assert.equal(ten.version, 1);
    const onAtTen = await usersOn();
    assert.ok(onAtTen > 15 && onAtTen < 70, `about 10% of ${USERS} users are on, got ${onAtTen}`);

    const fifty = await runbookCurl('50%');
    assert.equal(fifty.error, undefined, JSON.stringify(fifty));
    assert.equal(fifty.enabled_for, '50%');
    assert.equal(fifty.version, 2);
    const onAtFifty = await usersOn();
    assert.ok(onAtFifty > 150 && onAtFifty < 250, `about 50% of ${USERS} users are on, got ${onAtFifty}`);
    assert.ok(onAtFifty >= onAtTen, 'a sticky rollout only adds users');

    const all = await runbookCurl('100%');
    assert.equal(all.error, undefined, JSON.stringify(all));
    assert.equal(all.enabled_for, '100%');
    assert.equal(all.version, 3);
    assert.equal(await usersOn(), USERS);
  });

  it('still refuses a body that is not JSON with 400, and keeps strict content types on the rest of the API', async () => {
    const garbled = await run('curl', [
      '-s',
      '-X',
      'POST',
      `${h.server.adminUrl}/admin/feature-flags/`,
      '-H',
      `Authorization: Bearer ${h.server.token}`,
      '-d',
      'flag=new_payment_system&enabled_for=10%25',
      '-w',
      '\n%{http_code}',
    ]);
    const garbledLines = garbled.stdout.trimEnd().split('\n');
    assert.equal(garbledLines.pop(), '400');
    assert.equal((JSON.parse(garbledLines.join('\n')) as { error: { code: string } }).error.code, 'BAD_REQUEST');

    const elsewhere = await run('curl', [
      '-s',
      '-X',
      'POST',
      `${h.server.adminUrl}/api/v1/flags`,
      '-H',
      `Authorization: Bearer ${h.server.token}`,
      '-d',
      '{"flag": {"key": "form_posted"}}',
      '-w',
      '\n%{http_code}',
    ]);
    assert.equal(elsewhere.stdout.trimEnd().split('\n').pop(), '415');
  });
});
