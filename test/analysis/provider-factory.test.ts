import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuiltinProvider } from '../../src/analysis/builtin-provider.js';
import { CommandProvider } from '../../src/analysis/command-provider.js';
import type { MeasurementContext } from '../../src/analysis/index.js';
import { PrometheusProvider } from '../../src/analysis/prometheus-provider.js';
import { createProvider } from '../../src/analysis/provider-factory.js';
import { analysisRunConfig } from '../../src/analysis/run-config.js';
import { WebProvider } from '../../src/analysis/web-provider.js';
import { parseConfig } from '../../src/config/load-config.js';
import { nextDueAt, recordMeasurement, startRun } from '../../src/core/analysis/analysis-run.js';
import { CANARY_EXAMPLE } from '../config/canary-example.js';

/**
 * From cutover.yaml to measurements: every metric of a template gets its
 * provider, and a metric's value goes through the analysis run it configures.
 */
const context: MeasurementContext = {
  service: 'web',
  canaryReleaseId: 'web-2',
  stableReleaseId: 'web-1',
  windowStart: 0,
};

describe('createProvider', () => {
  it('builds the provider each metric of the example names', () => {
    const template = parseConfig(CANARY_EXAMPLE, '/srv/site/cutover.yaml', { env: {} }).analysis['error-rate'];
    assert.ok(template);
    const providers = template.metrics.map((metric) => createProvider(metric.provider, { counters: () => [] }));
    assert.deepEqual(
      providers.map((provider) => provider.constructor),
      [BuiltinProvider, BuiltinProvider, PrometheusProvider, WebProvider, CommandProvider],
    );
    assert.deepEqual(
      providers.map((provider) => provider.description),
      [
        'builtin error-rate',
        'builtin baseline',
        'prometheus http://127.0.0.1:9090 sum(rate(x[1m]))',
        'web GET http://127.0.0.1:8000/stats $.errors.rate',
        'command ./check.sh',
      ],
    );
  });

  it('feeds a configured command metric into its analysis run until the count is reached', async () => {
    const config = parseConfig(
      [
        'analysis:',
        '  script:',
        '    metrics:',
        '      - { name: rate, provider: { command: "echo 0.01" }, interval: 1s, count: 2, failure_condition: result > 0.05 }',
        'services: { web: { command: a } }',
        '',
      ].join('\n'),
      null,
      { env: {} },
    );
    const metric = config.analysis.script?.metrics[0];
    assert.ok(metric);
    const provider = createProvider(metric.provider, { counters: () => [] });
    let run = startRun(analysisRunConfig(metric), 0);
    for (let due = nextDueAt(run); due !== null; due = nextDueAt(run)) {
      run = recordMeasurement(run, { at: due, ...(await provider.measure(context)) });
    }
    assert.equal(run.phase, 'Successful', run.message);
    assert.deepEqual(
      run.measurements.map((m) => [m.at, m.value, m.phase]),
      [
        [0, 0.01, 'successful'],
        [1000, 0.01, 'successful'],
      ],
    );
  });
});
