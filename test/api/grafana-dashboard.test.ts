import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startHarness, type Harness } from '../support/cutover-harness.js';

/**
 * The Grafana dashboard in examples/ asks only for series cutover exports:
 * every metric its queries name is declared by a real server's /metrics.
 */
describe('the example Grafana dashboard', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ instances: 1 });
  });
  after(async () => {
    await h?.close();
  });

  it('queries only metrics that /metrics declares', async () => {
    const file = new URL('../../../examples/grafana/cutover-dashboard.json', import.meta.url);
    const dashboard = JSON.parse(readFileSync(file, 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const response = await request(`${h.server.adminUrl}/metrics`, {
      headers: { authorization: `Bearer ${h.server.token}` },
    });
    const declared = new Set([...(await response.body.text()).matchAll(/^# TYPE (\S+) (\w+)$/gm)].map((m) => m[1]!));
    const named = dashboard.panels.flatMap((panel) =>
      panel.targets.flatMap((target) =>
        [...target.expr.matchAll(/\bcutover_[a-z_]+/g)].map((m) => ({ panel: panel.title, metric: m[0] })),
      ),
    );
    assert.ok(named.length >= 14, `the dashboard queries ${named.length} series`);
    for (const { panel, metric } of named) {
      const base = metric.replace(/_(bucket|sum|count)$/, '');
      assert.ok(
        declared.has(metric) || declared.has(base),
        `panel "${panel}" queries ${metric}, which /metrics does not declare`,
      );
    }
  });
});
