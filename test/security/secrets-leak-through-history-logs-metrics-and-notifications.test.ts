import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { AdminClient } from '../../src/cli/admin-client.js';
import { parseConfig } from '../../src/config/load-config.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { closedPortUrl, Receiver } from '../notify/receiver.js';
import { configYaml } from '../support/cutover-harness.js';
import { operate } from '../support/operations.js';

/**
 * Finding 3 of issue 12: redaction went by key name only, so
 * DATABASE_URL=postgres://app:hunter2-db@... and STRIPE_KEY=sk_live_...
 * showed in the release history, redactUrl kept ?password= and ?api_key=,
 * and a web provider's error carried its full URL into the analysis
 * measurements. One secret is planted in each place a config holds one;
 * after a deploy whose analysis fails on those URLs, none of them appears
 * at any exit: the history and operation API, an API error, /metrics, the
 * dashboard stream, the server's log lines and the notification payloads.
 */
const SECRETS = {
  envInline: 'sk_live_planted4stripe9key',
  envSubstituted: 'planted-checkout-token-from-env',
  databaseUrlPassword: 'hunter2-db-planted',
  webhookToken: 'planted-webhook-query-token',
  webhookSecret: 'planted-webhook-hmac-secret',
  webPassword: 'planted-web-userinfo-pass',
  webApiKey: 'planted-web-api-key-value',
  prometheusPassword: 'planted-prom-userinfo-pass',
  prometheusToken: 'planted-prom-query-token',
};

describe('secrets leak through history, logs, metrics and notifications', () => {
  let dir: string;
  let server: RunningServer;
  let receiver: Receiver;
  const logLines: string[] = [];
  let streamText = '';
  let streamAbort: AbortController;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-secrets-'));
    receiver = await Receiver.start();
    const down = new URL(await closedPortUrl());
    const analysis = `analysis:
  gate:
    metrics:
      - name: stats
        provider: { web: { url: "http://reader:${SECRETS.webPassword}@${down.host}/stats?api_key=${SECRETS.webApiKey}&window=5m", json_path: $.errors, timeout: 1s } }
        interval: 200ms
        failure_limit: 1
        success_condition: result < 1
      - name: prom
        provider: { prometheus: { url: "http://prom:${SECRETS.prometheusPassword}@${down.host}/?token=${SECRETS.prometheusToken}", query: "up", timeout: 1s } }
        interval: 200ms
        failure_limit: 1
        success_condition: result < 1
notifications:
  - { type: webhook, url: "${receiver.url}?token=${SECRETS.webhookToken}", secret: "${SECRETS.webhookSecret}", name: ops }
`;
    const ports = { proxy: await findFreePort(), admin: await findFreePort() };
    const yaml = (
      await configYaml(
        dir,
        {
          instances: 1,
          strategy:
            '{ type: blue-green, auto_switch: true, timeout: 10s, pre_promotion: { window: 1s, analysis: [gate] } }',
          topLevelYaml: analysis,
        },
        ports,
      )
    ).replace(
      'env: { APP_VERSION: "${VERSION}", API_TOKEN: "s3cret-value" }',
      `env: { APP_VERSION: "\${VERSION}", STRIPE_KEY: "${SECRETS.envInline}", CHECKOUT_SETTING: "\${CHECKOUT_TOKEN}", DATABASE_URL: "postgres://app:${SECRETS.databaseUrlPassword}@db.internal:5432/app" }`,
    );
    assert.ok(yaml.includes(SECRETS.envInline), 'the service env was rewritten');
    const file = path.join(dir, 'cutover.yaml');
    fs.writeFileSync(file, yaml);
    const config = parseConfig(yaml, file, { env: { CHECKOUT_TOKEN: SECRETS.envSubstituted } });
    const logDestination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    server = await startServer(config, { env: {}, logDestination });

    streamAbort = new AbortController();
    const stream = await request(`${server.adminUrl}/api/v1/events/stream`, {
      headers: { authorization: `Bearer ${server.token}` },
      signal: streamAbort.signal,
    });
    stream.body.on('data', (chunk: Buffer) => {
      streamText += chunk.toString('utf8');
    });
    stream.body.on('error', () => {});
  });

  after(async () => {
    streamAbort?.abort();
    await server?.close();
    await receiver?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const assertNoSecret = (where: string, text: string): void => {
    for (const [name, secret] of Object.entries(SECRETS)) {
      assert.ok(
        !text.includes(secret),
        `${where} shows the ${name} secret ${secret}:\n${text.slice(Math.max(0, text.indexOf(secret) - 300), text.indexOf(secret) + 100)}`,
      );
    }
  };

  it('shows none of the planted secrets at any exit after a deploy whose analysis fails on them', async () => {
    const client = new AdminClient({ url: server.adminUrl, token: server.token });
    const { operation, events } = await operate(client, '/api/v1/services/web/deploy', { version: 'v1' });
    // The providers cannot be reached: the analysis is inconclusive and the release waits, with the errors recorded.
    assert.ok(
      events.some((e) => e.type === 'analysis.inconclusive' || e.type === 'analysis.failed'),
      events.map((e) => e.type).join(','),
    );
    const measurements = JSON.stringify(events.filter((e) => e.type === 'analysis.measurement'));
    assert.match(
      measurements,
      /cannot reach/,
      'the measurement errors quote the provider (with the secrets taken out)',
    );
    assert.match(measurements, /\[redacted\]/);

    const get = async (url: string): Promise<string> => {
      const response = await request(`${server.adminUrl}${url}`, {
        headers: { authorization: `Bearer ${server.token}` },
      });
      return response.body.text();
    };
    const history = await get('/api/v1/services/web/history');
    assert.match(history, /STRIPE_KEY/, 'the history holds the release snapshot');
    assertNoSecret('the history API', history);
    assertNoSecret('the operation API', await get(`/api/v1/operations/${operation.id}`));
    assertNoSecret('the services API', await get('/api/v1/services'));

    const apiError = await get(`/api/v1/services/${SECRETS.envSubstituted}?password=${SECRETS.databaseUrlPassword}`);
    assert.match(apiError, /SERVICE_NOT_FOUND|NOT_FOUND/);
    assertNoSecret('an API error', apiError);

    assertNoSecret('/metrics', await get('/metrics'));

    await receiver.waitFor(1, (r) => r.headers['x-cutover-event'] !== undefined);
    // Give the failed-deploy notification time to arrive as well.
    await receiver.waitFor(2).catch(() => {});
    assert.ok(receiver.received.length >= 1);
    assertNoSecret('the notification payloads', receiver.received.map((r) => r.raw.toString('utf8')).join('\n'));

    assert.match(streamText, /event: hello/);
    assert.match(streamText, /analysis\.measurement/, 'the stream carried the measurements');
    assertNoSecret('the dashboard stream', streamText);

    const logs = logLines.join('');
    assert.match(logs, /analysis/, 'the server logged the deploy');
    assertNoSecret('the server log', logs);
  });
});
