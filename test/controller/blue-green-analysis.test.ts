import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { operate, versionAt } from '../support/operations.js';

// Analysis before a blue-green switch: after health and smoke checks, the new
// release is judged for a window by a provider that can see it without user
// traffic (here a command). A failed judgement fails the deploy; traffic never moves.
describe('blue-green pre_promotion analysis', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({
      instances: 1,
      strategy:
        '{ type: blue-green, auto_switch: true, timeout: 10s, pre_promotion: { window: 1500ms, analysis: [gate] } }',
      topLevelYaml: `analysis:
  gate:
    metrics:
      - name: release-gate
        provider: { command: { command: 'case "$CANARY_RELEASE" in web-3) echo refused >&2; exit 1;; *) exit 0;; esac', timeout: 5s } }
        interval: 300ms
        success_condition: result.exitCode == 0
`,
    });
  });
  after(async () => {
    await h?.close();
  });

  it('a release that passes is switched after the window; one that fails never gets traffic', async () => {
    const first = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
    const second = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
    assert.equal(second.operation.outcome, 'succeeded', JSON.stringify(second.operation.error));
    const types = second.events.map((e) => e.type);
    assert.ok(types.indexOf('analysis.started') < types.indexOf('traffic.switched'), types.join(','));
    assert.ok(second.events.filter((e) => e.type === 'analysis.measurement').length >= 2);
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2');

    const third = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v3' });
    assert.equal(third.operation.outcome, 'failed');
    assert.equal(third.operation.error?.code, 'ANALYSIS_FAILED');
    assert.match(third.operation.error?.message ?? '', /before the switch: gate\/release-gate/);
    assert.ok(!third.events.some((e) => e.type === 'traffic.switched'));
    const counters = h.server.router.counters().find((c) => c.releaseId === third.operation.releaseId);
    assert.equal(counters?.requests ?? 0, 0, 'the judged release never received a request');
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2');
  });
});
