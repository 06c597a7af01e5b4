import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';
import { eventually } from '../support/eventually.js';
import { operate } from '../support/operations.js';

/**
 * Finding 3 of issue 12 at one more exit: `cutover logs` (GET
 * /api/v1/services/:name/logs). The route streams the instances' log files
 * on the raw response, past the admin API's redaction hook, so an app that
 * prints its configuration at start, or quotes DATABASE_URL in a connection
 * error, handed its secrets to anyone reading its logs through cutover, in
 * text and in JSON, at once and with --follow. Now the lines are redacted
 * like every other answer.
 */
const SECRETS = {
  databaseUrlPassword: 'hunter2-db-planted-in-logs',
  stripeKey: 'sk_live_planted4logs9key',
};

describe('secrets leak through instance logs', () => {
  let h: Harness;
  let appDir: string;

  before(async () => {
    appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-chatty-app-'));
    // Prints its environment at start and every 500 ms (for --follow), then serves as the sample app does.
    fs.writeFileSync(
      path.join(appDir, 'chatty.mjs'),
      [
        'const say = (when) => console.log(`${when}: DATABASE_URL=${process.env.DATABASE_URL} STRIPE_KEY=${process.env.STRIPE_KEY}`);',
        "say('starting');",
        "setInterval(() => say('still here'), 500).unref();",
        `await import(${JSON.stringify(path.join(SAMPLE_APP, 'server.js'))});`,
        '',
      ].join('\n'),
    );
    h = await startHarness({
      instances: 1,
      strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }',
      extraServiceYaml: [
        '  chatty:',
        '    hosts: [chatty.localhost]',
        '    command: node chatty.mjs',
        `    cwd: ${appDir}`,
        `    env: { APP_VERSION: "\${VERSION}", DATABASE_URL: "postgres://app:${SECRETS.databaseUrlPassword}@db.internal:5432/app", STRIPE_KEY: "${SECRETS.stripeKey}" }`,
        '    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1, start_period: 5s }',
        '    strategy: { type: blue-green, auto_switch: true, timeout: 20s }',
        '',
      ].join('\n'),
    });
    const { operation } = await operate(h.client, '/api/v1/services/chatty/deploy', { version: 'v1' });
    assert.equal(operation.outcome, 'succeeded', JSON.stringify(operation.error));
  });

  after(async () => {
    await h.close();
    fs.rmSync(appDir, { recursive: true, force: true });
  });

  const logs = async (query: string, signal?: AbortSignal): Promise<string> => {
    const response = await request(`${h.server.adminUrl}/api/v1/services/chatty/logs?${query}`, {
      headers: { authorization: `Bearer ${h.server.token}` },
      ...(signal === undefined ? {} : { signal }),
    });
    assert.equal(response.statusCode, 200);
    let text = '';
    try {
      for await (const chunk of response.body) text += (chunk as Buffer).toString('utf8');
    } catch {
      // The follow stream ends by the abort.
    }
    return text;
  };

  const assertNoSecret = (where: string, text: string): void => {
    for (const [name, secret] of Object.entries(SECRETS))
      assert.ok(!text.includes(secret), `${where} shows the ${name} secret:\n${text}`);
  };

  it('shows the lines with [redacted] in place of the secrets, as text and as JSON', async () => {
    let text = '';
    await eventually(
      async () => (text = await logs('lines=50')).includes('starting: DATABASE_URL='),
      'the app printed',
    );
    assert.match(text, /\[redacted\]/);
    assertNoSecret('cutover logs', text);
    const json = await logs('lines=50&format=json');
    assert.match(json, /starting: DATABASE_URL=/);
    assertNoSecret('cutover logs --json', json);
  });

  it('redacts the lines that arrive while following', async () => {
    const abort = new AbortController();
    const following = logs('lines=1&follow=1', abort.signal);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    abort.abort();
    const text = await following;
    // One line from the tail; the others were written while following.
    const later = text.split('\n').filter((line) => line.includes('still here: DATABASE_URL=')).length;
    assert.ok(later >= 3, `the follow stream carried the later lines:\n${text}`);
    assertNoSecret('cutover logs --follow', text);
  });
});
