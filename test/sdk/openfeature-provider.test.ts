import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  NOOP_PROVIDER,
  OpenFeature,
  ProviderEvents,
  ProviderStatus,
  type Client,
  type EventDetails,
} from '@openfeature/server-sdk';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { writeCache } from '../../src/sdk/flags/disk-cache.js';
import { CutoverProvider } from '../../src/sdk/openfeature/index.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { admin, boolFlag } from './flag-admin.js';

/**
 * CutoverProvider through the OpenFeature server SDK, against a real server:
 * OpenFeature's error codes, targetingKey as the rollout key, a flag the SDK
 * cannot parse, and the provider events an application reacts to.
 */

type Handler = (details?: EventDetails) => void;

/** Resolves with the details of the next `event` the OpenFeature client hears. */
function nextProviderEvent(
  client: Client,
  event: ProviderEvents,
  timeoutMs = 15_000,
): Promise<EventDetails | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeHandler(event, handler);
      reject(new Error(`no ${event} within ${timeoutMs} ms (status ${client.providerStatus})`));
    }, timeoutMs);
    const handler: Handler = (details) => {
      clearTimeout(timer);
      client.removeHandler(event, handler);
      resolve(details);
    };
    client.addHandler(event, handler);
  });
}

describe('CutoverProvider through OpenFeature, against a real server', () => {
  let harness: Harness;
  let provider: CutoverProvider;
  let client: Client;
  let dir: string;

  before(async () => {
    harness = await startHarness({ instances: 1 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-openfeature-'));
    await admin(harness, 'POST', '/api/v1/flags', {
      flag: boolFlag('new-checkout', { rollout: { percentage: 50, variant: 'on' } }),
    });
    await admin(harness, 'POST', '/api/v1/flags', {
      flag: {
        key: 'checkout-theme',
        enabled: true,
        variants: { classic: 'classic', dark: 'dark' },
        defaultVariant: 'dark',
        offVariant: 'classic',
      },
    });
    provider = new CutoverProvider({
      url: harness.server.adminUrl,
      token: harness.server.sdkToken,
      reportIntervalMs: 0,
    });
    await OpenFeature.setProviderAndWait('checkout', provider);
    client = OpenFeature.getClient('checkout');
  });
  after(async () => {
    await OpenFeature.close();
    await harness?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers with the variant and reason, and targetingKey is the rollout key', async () => {
    assert.equal(client.providerStatus, ProviderStatus.READY);
    const theme = await client.getStringDetails('checkout-theme', 'classic');
    assert.deepEqual(
      { value: theme.value, variant: theme.variant, reason: theme.reason, errorCode: theme.errorCode },
      { value: 'dark', variant: 'dark', reason: 'DEFAULT', errorCode: undefined },
    );
    let on = 0;
    for (let user = 0; user < 200; user++) {
      const details = await client.getBooleanDetails('new-checkout', false, { targetingKey: `user-${user}` });
      assert.equal(
        details.value,
        provider.client.isEnabled('new-checkout', { userId: `user-${user}` }),
        `user-${user}`,
      );
      assert.equal(details.reason, details.value ? 'SPLIT' : 'DEFAULT');
      if (details.value) on++;
    }
    assert.ok(on > 70 && on < 130, `${on} of 200 in a 50 % rollout`);
  });

  it('answers FLAG_NOT_FOUND and TYPE_MISMATCH with the default value', async () => {
    const missing = await client.getBooleanDetails('no-such-flag', true, { targetingKey: 'u-1' });
    assert.deepEqual(
      { value: missing.value, reason: missing.reason, errorCode: missing.errorCode, variant: missing.variant },
      { value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', variant: undefined },
    );
    assert.match(missing.errorMessage ?? '', /no-such-flag/);
    const mismatch = await client.getNumberDetails('checkout-theme', 7);
    assert.deepEqual(
      { value: mismatch.value, reason: mismatch.reason, errorCode: mismatch.errorCode },
      { value: 7, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' },
    );
    assert.equal(await client.getBooleanValue('checkout-theme', false), false);
  });

  it('emits PROVIDER_CONFIGURATION_CHANGED with the changed flag keys', async () => {
    const changed = nextProviderEvent(client, ProviderEvents.ConfigurationChanged);
    await admin(harness, 'PATCH', '/api/v1/flags/checkout-theme', { patch: { enabled: false } });
    assert.deepEqual((await changed)?.flagsChanged, ['checkout-theme']);
    const theme = await client.getStringDetails('checkout-theme', 'dark');
    assert.deepEqual([theme.value, theme.reason], ['classic', 'DISABLED']);
  });

  it('emits PROVIDER_STALE when the stream drops and PROVIDER_READY when it comes back', async () => {
    const stale = nextProviderEvent(client, ProviderEvents.Stale);
    await harness.server.close();
    await stale;
    assert.equal(client.providerStatus, ProviderStatus.STALE);
    assert.equal(
      (await client.getStringDetails('checkout-theme', 'dark')).value,
      'classic',
      'still answers from the set it has',
    );
    const ready = nextProviderEvent(client, ProviderEvents.Ready);
    await harness.restart();
    await ready;
    assert.equal(client.providerStatus, ProviderStatus.READY);
  });

  it('answers PARSE_ERROR for a flag it cannot parse while the other flags work (from the disk cache, server out of reach)', async () => {
    const cacheFile = path.join(dir, 'flags.json');
    const fromNewerServer = boolFlag('future-flag', {
      rules: [{ constraints: [{ operator: 'regex_match', attribute: 'email', value: '.*' }], variant: 'on' }],
    });
    await writeCache(cacheFile, {
      environment: 'production',
      revision: 3,
      flags: [fromNewerServer, boolFlag('plain-flag', { defaultVariant: 'on' })],
      segments: {},
    });
    const offline = new CutoverProvider({
      url: `http://127.0.0.1:${await findFreePort()}`,
      cacheFile,
      reportIntervalMs: 0,
    });
    await OpenFeature.setProviderAndWait('offline', offline);
    const offlineClient = OpenFeature.getClient('offline');
    const broken = await offlineClient.getBooleanDetails('future-flag', true);
    assert.deepEqual(
      { value: broken.value, reason: broken.reason, errorCode: broken.errorCode },
      { value: true, reason: 'ERROR', errorCode: 'PARSE_ERROR' },
    );
    assert.match(broken.errorMessage ?? '', /operator/);
    const plain = await offlineClient.getBooleanDetails('plain-flag', false);
    assert.deepEqual(
      { value: plain.value, variant: plain.variant, reason: plain.reason },
      { value: true, variant: 'on', reason: 'DEFAULT' },
    );
    if (offlineClient.providerStatus !== ProviderStatus.STALE)
      await nextProviderEvent(offlineClient, ProviderEvents.Stale);
    assert.equal(offlineClient.providerStatus, ProviderStatus.STALE, 'answering from a cache is stale');
    // Replacing a provider makes the SDK call its onClose(), which closes the client the provider made.
    await OpenFeature.setProviderAndWait('offline', NOOP_PROVIDER);
    const deadline = Date.now() + 5_000;
    while (offline.client.state !== 'closed' && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(offline.client.state, 'closed');
  });
});
