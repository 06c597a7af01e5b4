import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OpenFeature, type Client, type EvaluationDetails, type JsonValue } from '@openfeature/server-sdk';
import { safeParseFlag } from '../../src/flags/flag-schema.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { writeCache } from '../../src/sdk/flags/disk-cache.js';
import { FlagClient } from '../../src/sdk/flags/index.js';
import { CutoverProvider } from '../../src/sdk/openfeature/index.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { reachRevision } from './client-events.js';
import { admin, adminCall, serverRevision } from './flag-admin.js';
import { openFeatureType, pinned, vectors, type Vector } from './shared-vectors.js';

/**
 * The shared vectors end to end: each flag is written through the admin API,
 * reaches a FlagClient over the stream, and is evaluated there and through
 * the OpenFeature SDK with CutoverProvider. The vectors the server refuses
 * (an invalid flag, a segment that does not exist) are what a newer server or
 * an old cache could still hand an SDK: those are loaded from a disk cache
 * with the server out of reach, the same code path an application takes.
 */

/**
 * A flag the server validates away (an invalid flag, or one naming a segment
 * that does not exist): it answers 400, and an SDK meets such a flag only from
 * a cache or a newer server.
 */
function refusedByServer(vector: Vector): boolean {
  const parsed = safeParseFlag(vector.flag);
  if (!parsed.ok) return true;
  const defined = new Set(Object.keys(vector.segments ?? {}));
  return parsed.value.rules.some((rule) =>
    rule.constraints.some((constraint) => constraint.operator === 'in_segment' && !defined.has(constraint.segment)),
  );
}

const DEFAULTS = { boolean: false, string: '(default)', number: -1, object: { default: true } } as const;

async function detailsOf(client: Client, vector: Vector): Promise<EvaluationDetails<JsonValue> | null> {
  const key = (vector.flag as { key: string }).key;
  const context = vector.context as Record<string, string>;
  switch (openFeatureType(vector)) {
    case 'boolean':
      return client.getBooleanDetails(key, DEFAULTS.boolean, context);
    case 'string':
      return client.getStringDetails(key, DEFAULTS.string, context);
    case 'number':
      return client.getNumberDetails(key, DEFAULTS.number, context);
    case 'object':
      return client.getObjectDetails(key, DEFAULTS.object, context);
    case null:
      return null;
  }
}

/** The vector's expectation as OpenFeature presents it: on error the caller's default and no variant. */
function assertOpenFeature(
  details: EvaluationDetails<JsonValue> | null,
  vector: Vector,
  client: Client,
): Promise<void> | void {
  if (details === null) {
    // A null value has no OpenFeature type: every typed getter answers TYPE_MISMATCH with the default.
    return client
      .getObjectDetails((vector.flag as { key: string }).key, DEFAULTS.object, vector.context as Record<string, string>)
      .then((object) => {
        assert.equal(object.errorCode, 'TYPE_MISMATCH');
        assert.deepEqual(object.value, DEFAULTS.object);
      });
  }
  const { expected } = vector;
  if (expected.reason === 'ERROR') {
    assert.deepEqual(details.value, DEFAULTS[openFeatureType(vector)!]);
    assert.equal(details.variant, undefined);
    assert.equal(details.reason, 'ERROR');
    assert.equal(details.errorCode, expected.errorCode);
    assert.ok((details.errorMessage ?? '').length > 0);
  } else {
    assert.deepEqual(
      { value: details.value, variant: details.variant, reason: details.reason, errorCode: details.errorCode },
      { value: expected.value, variant: expected.variant, reason: expected.reason, errorCode: undefined },
      vector.note,
    );
    assert.equal(details.flagMetadata.ruleIndex, expected.ruleIndex);
  }
}

describe('shared vectors through the SDK and the OpenFeature provider, from a real server', () => {
  let harness: Harness;
  let flags: FlagClient;
  let openFeature: Client;
  const created = new Set<string>();
  const segmentsOnServer = new Map<string, string>();

  before(async () => {
    harness = await startHarness({ instances: 1 });
    flags = new FlagClient({ url: harness.server.adminUrl, token: harness.server.sdkToken, reportIntervalMs: 0 });
    await flags.ready();
    await OpenFeature.setProviderAndWait('vectors', new CutoverProvider({ client: flags, closeClient: false }));
    openFeature = OpenFeature.getClient('vectors');
  });
  after(async () => {
    await OpenFeature.close();
    await flags?.close();
    await harness?.close();
  });

  /** Makes the server hold exactly this flag (and at least these segments), then waits until the SDK has them. */
  async function load(vector: Vector): Promise<void> {
    for (const [name, constraints] of Object.entries((vector.segments ?? {}) as Record<string, unknown>)) {
      const text = JSON.stringify(constraints);
      if (segmentsOnServer.get(name) === text) continue;
      await admin(harness, 'PUT', `/api/v1/segments/${name}`, { constraints });
      segmentsOnServer.set(name, text);
    }
    const key = (vector.flag as { key: string }).key;
    if (created.has(key)) await admin(harness, 'PUT', `/api/v1/flags/${key}`, { flag: vector.flag });
    else await admin(harness, 'POST', '/api/v1/flags', { flag: vector.flag });
    created.add(key);
    await reachRevision(flags, await serverRevision(harness));
  }

  for (const vector of vectors.filter((candidate) => !refusedByServer(candidate))) {
    it(vector.name, async () => {
      await load(vector);
      const options = vector.expectedType === undefined ? {} : { expectedType: vector.expectedType };
      assert.deepEqual(
        pinned(flags.evaluate((vector.flag as { key: string }).key, vector.context, options)),
        vector.expected,
        vector.note,
      );
      await assertOpenFeature(await detailsOf(openFeature, vector), vector, openFeature);
    });
  }

  describe('vectors the server refuses, from a disk cache', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-sdk-vectors-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    for (const [index, vector] of vectors.filter(refusedByServer).entries()) {
      it(vector.name, async () => {
        const key = (vector.flag as { key: string }).key;
        const refused = created.has(key)
          ? await adminCall(harness, 'PUT', `/api/v1/flags/${key}`, { flag: vector.flag })
          : await adminCall(harness, 'POST', '/api/v1/flags', { flag: vector.flag });
        assert.equal(refused.status, 400, 'the server validates flags, so this one can only come from elsewhere');
        const cacheFile = path.join(dir, `vector-${index}.json`);
        await writeCache(cacheFile, {
          environment: 'production',
          revision: 1,
          flags: [vector.flag],
          segments: vector.segments ?? {},
        });
        const offline = new FlagClient({
          url: `http://127.0.0.1:${await findFreePort()}`,
          cacheFile,
          reportIntervalMs: 0,
        });
        try {
          assert.equal((await offline.ready()).source, 'cache');
          const options = vector.expectedType === undefined ? {} : { expectedType: vector.expectedType };
          assert.deepEqual(pinned(offline.evaluate(key, vector.context, options)), vector.expected);
          const domain = `cached-${index}`;
          await OpenFeature.setProviderAndWait(domain, new CutoverProvider({ client: offline, closeClient: false }));
          const client = OpenFeature.getClient(domain);
          await assertOpenFeature(await detailsOf(client, vector), vector, client);
        } finally {
          await offline.close();
        }
      });
    }
  });
});
