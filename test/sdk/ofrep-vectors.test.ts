import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature, type Client, type EvaluationDetails, type JsonValue } from '@openfeature/server-sdk';
import { evaluateFlagJson } from '../../src/flags/evaluate.js';
import type { Segments } from '../../src/flags/flag-model.js';
import { safeParseFlag } from '../../src/flags/flag-schema.js';
import { isStatic } from '../../src/flags/ofrep-answers.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { admin } from './flag-admin.js';
import { openFeatureType, vectors, type Vector } from './shared-vectors.js';

/**
 * The shared vectors (test/flags/vectors.json) through the official OFREP
 * provider for Node (@openfeature/ofrep-provider with @openfeature/server-sdk)
 * against a real flag server: what an application in any language gets over
 * OFREP is what the Node SDK computes. Each flag is written through the admin
 * API, then evaluated over POST /ofrep/v1/evaluate/flags/{key} with the SDK
 * token. Two differences are the protocol's, and pinned here:
 * - a flag with no rules and no rollout answers STATIC where the SDK says
 *   DEFAULT (same value and variant; OpenFeature's word for "the same for everyone");
 * - OFREP carries no type, so the provider checks one itself: a null value
 *   passes its typeof check for an object (cutover's own provider refuses it).
 */

const DEFAULTS = { boolean: false, string: '(default)', number: -1, object: { default: true } } as const;

/** The flags the server accepts (the others are covered from a disk cache by vectors-via-server.test.ts). */
function acceptedByServer(vector: Vector): boolean {
  const parsed = safeParseFlag(vector.flag);
  if (!parsed.ok) return false;
  const defined = new Set(Object.keys(vector.segments ?? {}));
  return !parsed.value.rules.some((rule) =>
    rule.constraints.some((constraint) => constraint.operator === 'in_segment' && !defined.has(constraint.segment)),
  );
}

function details(client: Client, vector: Vector): Promise<EvaluationDetails<JsonValue>> {
  const key = (vector.flag as { key: string }).key;
  const context = vector.context as Record<string, string>;
  switch (openFeatureType(vector) ?? 'object') {
    case 'boolean':
      return client.getBooleanDetails(key, DEFAULTS.boolean, context);
    case 'string':
      return client.getStringDetails(key, DEFAULTS.string, context);
    case 'number':
      return client.getNumberDetails(key, DEFAULTS.number, context);
    case 'object':
      return client.getObjectDetails(key, DEFAULTS.object, context);
  }
}

describe('shared vectors through the official OFREP provider (Node)', { timeout: 120_000 }, () => {
  let harness: Harness;
  let client: Client;
  const created = new Set<string>();
  const segmentsOnServer = new Map<string, string>();

  before(async () => {
    harness = await startHarness({ instances: 1 });
    await OpenFeature.setProviderAndWait(
      'ofrep',
      new OFREPProvider({
        baseUrl: harness.server.adminUrl,
        headers: [['Authorization', `Bearer ${harness.server.sdkToken}`]],
      }),
    );
    client = OpenFeature.getClient('ofrep');
  });
  after(async () => {
    await OpenFeature.close();
    await harness?.close();
  });

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
  }

  const accepted = vectors.filter(acceptedByServer);
  it('covers most of the vectors', () => {
    assert.ok(accepted.length >= 90, `${accepted.length} of ${vectors.length} vectors reach the server`);
  });

  for (const vector of accepted) {
    it(vector.name, async () => {
      await load(vector);
      const answer = await details(client, vector);
      const { expected } = vector;
      const type = openFeatureType(vector) ?? 'object';
      const untyped = evaluateFlagJson(vector.flag, vector.context, (vector.segments ?? {}) as Segments);
      if (expected.errorCode === 'TYPE_MISMATCH' && untyped.value === null) {
        // OFREP has no types: the provider compares typeof, and typeof null is "object".
        assert.deepEqual([answer.value, answer.variant, answer.reason], [null, untyped.variant, untyped.reason]);
        return;
      }
      if (expected.reason === 'ERROR') {
        assert.equal(answer.reason, 'ERROR');
        assert.equal(answer.errorCode, expected.errorCode);
        assert.deepEqual(answer.value, DEFAULTS[type]);
        return;
      }
      const flag = safeParseFlag(vector.flag);
      assert.ok(flag.ok);
      const reason = expected.reason === 'DEFAULT' && isStatic(flag.value) ? 'STATIC' : expected.reason;
      assert.deepEqual(
        { value: answer.value, variant: answer.variant, reason: answer.reason, errorCode: answer.errorCode },
        { value: expected.value, variant: expected.variant, reason, errorCode: undefined },
        vector.note,
      );
      assert.equal(answer.flagMetadata.ruleIndex, expected.ruleIndex);
      assert.equal(answer.flagMetadata.environment, 'production');
    });
  }

  it('a flag that does not exist is FLAG_NOT_FOUND, and the caller gets its default', async () => {
    const answer = await client.getBooleanDetails('no-such-flag', true, { targetingKey: 'user-1' });
    assert.deepEqual([answer.value, answer.reason, answer.errorCode], [true, 'ERROR', 'FLAG_NOT_FOUND']);
  });

  it('a wrong token is refused (401): the caller gets its default', async () => {
    await OpenFeature.setProviderAndWait(
      'ofrep-wrong-token',
      new OFREPProvider({ baseUrl: harness.server.adminUrl, headers: [['X-API-Key', 'x'.repeat(43)]] }),
    );
    // Any flag key, existing or not: the token is refused before a flag is looked up.
    const answer = await OpenFeature.getClient('ofrep-wrong-token').getStringDetails('no-such-flag', 'fallback');
    assert.deepEqual([answer.value, answer.reason, answer.errorCode], ['fallback', 'ERROR', 'GENERAL']);
  });
});
