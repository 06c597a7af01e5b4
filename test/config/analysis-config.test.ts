import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { knownKeysAt } from '../../src/config/config-schema.js';
import { parseConfig } from '../../src/config/load-config.js';
import { redactAnalysisTemplates } from '../../src/config/redact.js';
import { STARTER_CONFIG } from '../../src/config/starter-config.js';
import type { AnalysisMetricConfig } from '../../src/config/types.js';
import { CANARY_EXAMPLE } from './canary-example.js';
import { issueAt, issuesOf, parse } from './issues-of.js';

/**
 * The top-level `analysis:` section: named templates of metrics, each with a
 * provider and conditions. Conditions are parsed at load, so a typo is
 * reported at the very character, with the file's line and column.
 */
function template(metrics: string[]): string {
  return [
    'analysis:',
    '  checks:',
    '    metrics:',
    ...metrics.map((line) => `      ${line}`),
    'services: { web: { command: a } }',
    '',
  ].join('\n');
}

function metricOf(lines: string[]): AnalysisMetricConfig {
  const metric = parse(template(lines)).analysis.checks?.metrics[0];
  assert.ok(metric);
  return metric;
}

describe('analysis templates: the example config', () => {
  it('resolves every metric with its provider, durations in ms and defaults filled in', () => {
    const config = parse(CANARY_EXAMPLE);
    const defaults = { initialDelayMs: 0, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4 };
    assert.deepEqual(config.analysis, {
      'error-rate': {
        name: 'error-rate',
        metrics: [
          {
            name: 'errors',
            provider: { type: 'builtin', metric: 'error-rate' },
            intervalMs: 2000,
            count: 5,
            successCondition: 'result <= 0.05',
            failureCondition: 'result > 0.05',
            ...defaults,
          },
          {
            name: 'judge',
            provider: { type: 'builtin', metric: 'baseline' },
            intervalMs: 5000,
            count: null,
            successCondition: 'result == 1',
            failureCondition: null,
            ...defaults,
          },
          {
            name: 'prom-errors',
            provider: { type: 'prometheus', url: 'http://127.0.0.1:9090', query: 'sum(rate(x[1m]))', timeoutMs: 5000 },
            intervalMs: 10_000,
            count: null,
            successCondition: null,
            failureCondition: 'result > 0.01',
            ...defaults,
          },
          {
            name: 'web-check',
            provider: {
              type: 'web',
              url: 'http://127.0.0.1:8000/stats',
              method: 'GET',
              headers: {},
              body: null,
              jsonPath: '$.errors.rate',
              timeoutMs: 5000,
            },
            intervalMs: 10_000,
            count: null,
            successCondition: null,
            failureCondition: 'result > 0.01',
            ...defaults,
          },
          {
            name: 'script',
            // ./check.sh runs next to cutover.yaml, wherever the server was started.
            provider: { type: 'command', command: './check.sh', timeoutMs: 30_000, cwd: '/srv/site' },
            intervalMs: 10_000,
            count: null,
            successCondition: 'result.exitCode == 0',
            failureCondition: null,
            ...defaults,
          },
        ],
      },
    });
  });

  it('has no templates when the section is absent', () => {
    assert.deepEqual(parse('services: { web: { command: a } }').analysis, {});
  });
});

describe('analysis templates: short and long forms', () => {
  it('reads { type: builtin, metric } as { builtin: metric }', () => {
    const metric = metricOf([
      '- { name: p99, provider: { type: builtin, metric: latency-p99 }, failure_condition: result > 500 }',
    ]);
    assert.deepEqual(metric.provider, { type: 'builtin', metric: 'latency-p99' });
    assert.equal(metric.intervalMs, 10_000);
  });

  it('reads a command given as a string, and fills the web defaults', () => {
    assert.deepEqual(
      metricOf(['- { name: s, provider: { command: ./check.sh }, success_condition: result.exitCode == 0 }']).provider,
      {
        type: 'command',
        command: './check.sh',
        timeoutMs: 30_000,
        cwd: '/srv/site',
      },
    );
    assert.deepEqual(
      metricOf(['- { name: w, provider: { web: { url: "http://stats.internal/x" } }, success_condition: result.ok }'])
        .provider,
      {
        type: 'web',
        url: 'http://stats.internal/x',
        method: 'GET',
        headers: {},
        body: null,
        jsonPath: '$',
        timeoutMs: 5000,
      },
    );
  });

  it('sends a POST body written as a map as JSON', () => {
    const metric = metricOf([
      '- name: w',
      '  provider:',
      '    web: { url: "https://api.example.com/q", method: POST, headers: { Authorization: Bearer x }, body: { q: errors, n: 1 }, json_path: "$.data[0][\'p95-ms\']" }',
      '  success_condition: result < 300',
    ]);
    assert.deepEqual(metric.provider, {
      type: 'web',
      url: 'https://api.example.com/q',
      method: 'POST',
      headers: { Authorization: 'Bearer x' },
      body: '{"q":"errors","n":1}',
      jsonPath: "$.data[0]['p95-ms']",
      timeoutMs: 5000,
    });
  });
});

describe('analysis templates: every problem at once, with its place', () => {
  const INVALID = [
    'analysis:', //                                                                       1
    '  Error_Rate:', //                                                                   2  bad template name
    '    metrics:', //                                                                    3
    '      - name: errors', //                                                            4
    '        provider: { builtin: error-rate }', //                                       5
    '        failure_condition: result >> 0.05', //                                       6  typo, plain
    "        success_condition: 'result.p95 = 1'", //                                    7  typo, quoted
    '      - name: errors', //                                                            8  duplicate name
    '        provider: { builtin: eror-rate }', //                                        9  unknown builtin
    '      - name: nothing', //                                                           10 no condition, no provider
    '        interval: 0s', //                                                            11
    '      - name: both', //                                                              12
    '        provider: { builtin: baseline, command: ./x.sh }', //                        13 two kinds
    '        failure_conditon: result > 1', //                                            14 misspelt key
    '      - name: prom', //                                                              15
    '        provider: { prometheus: { url: "ftp://prom:9090", query: up } }', //         16 bad URL
    '        count: 0', //                                                                17
    '        success_condition: result == 1', //                                          18
    '      - name: web', //                                                               19
    '        provider: { web: { url: "http://x/y", body: "{}", json_path: "errors.rate" } }', // 20 GET body, bad path
    '        success_condition: result == 1', //                                          21
    '  empty: { metrics: [] }', //                                                        22
    'services: { web: { command: a } }',
    '',
  ].join('\n');

  it('reports each with path, message, line and column', () => {
    const { byPath, issues, message } = issuesOf(INVALID);
    const m = 'analysis.Error_Rate.metrics';
    const expected: [string, string, number, number][] = [
      [
        'analysis.Error_Rate',
        'expected a template name of lowercase letters, digits and hyphens, got "Error_Rate"',
        2,
        3,
      ],
      [
        `${m}[0].failure_condition`,
        "expected an operand (a number, a string, true, false, null, result, a function such as len(...), or '(') at column 9 of the condition, found '>'",
        6,
        36,
      ],
      [`${m}[0].success_condition`, 'expected \'==\' (comparison) at column 12 of the condition, found "="', 7, 40],
      [`${m}[1].name`, 'metric "errors" is already defined in this template', 8, 15],
      [
        `${m}[1].provider.builtin`,
        'expected one of error-rate, latency-p50, latency-p95, latency-p99, request-count, baseline, got "eror-rate"',
        9,
        30,
      ],
      [
        `${m}[1]`,
        'expected success_condition, failure_condition or both: without one every measurement would pass',
        8,
        9,
      ],
      [
        `${m}[2].provider`,
        'required: where the value comes from, like { builtin: error-rate } or { prometheus: { url, query } }',
        10,
        9,
      ],
      [
        `${m}[2]`,
        'expected success_condition, failure_condition or both: without one every measurement would pass',
        10,
        9,
      ],
      [`${m}[2].interval`, 'expected a duration greater than zero, got "0s"', 11, 19],
      [`${m}[3].provider.command`, 'choose one provider: builtin or command, not both', 13, 40],
      [`${m}[3].failure_conditon`, 'unknown key; did you mean "failure_condition"?', 14, 9],
      [
        `${m}[3]`,
        'expected success_condition, failure_condition or both: without one every measurement would pass',
        12,
        9,
      ],
      [
        `${m}[4].provider.prometheus.url`,
        'expected an http or https URL, like http://127.0.0.1:9090, got "ftp://prom:9090"',
        16,
        40,
      ],
      [`${m}[4].count`, 'expected a whole number ≥ 1, got 0', 17, 16],
      [`${m}[5].provider.web.body`, 'a body is only sent with method: POST', 20, 53],
      [
        `${m}[5].provider.web.json_path`,
        'expected a JSON path like $.errors.rate, $.data[0].value or $[\'p95-ms\'], got "errors.rate"',
        20,
        70,
      ],
      [
        'analysis.empty.metrics',
        'expected at least one metric, like - { name: errors, provider: { builtin: error-rate }, failure_condition: result > 0.05 }',
        22,
        21,
      ],
    ];
    for (const [path, text, line, column] of expected) {
      assert.deepEqual(issueAt(byPath, path), { path, message: text, line, column }, path);
    }
    assert.equal(issues.length, expected.length, message);
  });

  it('points a condition typo at the character, however the condition is quoted', () => {
    const at = (condition: string) =>
      issueAt(
        issuesOf(template(['- name: x', '  provider: { builtin: error-rate }', `  failure_condition: ${condition}`]))
          .byPath,
        'analysis.checks.metrics[0].failure_condition',
      );
    // 8 spaces and `failure_condition: `: the value starts at column 28; the condition ends at its column 17.
    assert.equal(at('result > 0.05 &&').column, 28 + 16);
    assert.equal(at('"result > 0.05 &&"').column, 29 + 16);
    // An escape makes the source differ from the condition: the value's start is all that can be trusted.
    assert.equal(at('"result \\u003e\\u003e 1"').column, 28);
    assert.match(at('"result \\u003e\\u003e 1"').message, /at column 9 of the condition, found '>'/);
  });

  it('offers the keys of the provider maps for a misspelt one', () => {
    const { byPath } = issuesOf(
      template([
        '- name: x',
        '  provider: { prometheus: { url: "http://p:9090", qeury: up } }',
        '  failure_condition: result > 1',
      ]),
    );
    assert.equal(
      issueAt(byPath, 'analysis.checks.metrics[0].provider.prometheus.qeury').message,
      'unknown key; did you mean "query"?',
    );
    assert.equal(
      issueAt(byPath, 'analysis.checks.metrics[0].provider.prometheus.query').message,
      'expected a PromQL query that returns one number, like sum(rate(http_errors_total[1m])), got nothing',
    );
  });
});

describe('analysis templates: secrets', () => {
  it('fills headers from the environment, and redacts secret-looking headers and URL passwords for display', () => {
    const text = template([
      '- name: w',
      '  provider: { web: { url: "https://stats:${STATS_PASSWORD}@stats.example.com/q", headers: { Authorization: "Bearer ${STATS_TOKEN}", X-Team: web } } }',
      '  success_condition: result.ok',
    ]);
    const config = parseConfig(text, null, { env: { STATS_TOKEN: 't0k3n', STATS_PASSWORD: 'hunter2' } });
    const provider = config.analysis.checks?.metrics[0]?.provider;
    assert.equal(provider?.type === 'web' && provider.headers.Authorization, 'Bearer t0k3n');
    const shown = redactAnalysisTemplates(config.analysis).checks?.metrics[0]?.provider;
    assert.ok(shown?.type === 'web');
    assert.deepEqual(shown.headers, { Authorization: '[redacted]', 'X-Team': 'web' });
    assert.equal(shown.url, 'https://stats:[redacted]@stats.example.com/q');
    assert.doesNotMatch(JSON.stringify(redactAnalysisTemplates(config.analysis)), /t0k3n|hunter2/);
    // The config itself is left as it was.
    assert.equal(provider?.type === 'web' && provider.url, 'https://stats:hunter2@stats.example.com/q');
  });

  it('takes an empty analysis section as no templates', () => {
    assert.deepEqual(parse('analysis:\nservices: { web: { command: a } }\n').analysis, {});
  });
});

describe('the starter config documents canary and analysis keys', () => {
  it('mentions every key of the canary strategy and the analysis templates', () => {
    const strategy = ['services', 'web', 'strategy'];
    const metric = ['analysis', 'any', 'metrics', 0];
    const paths = [
      strategy,
      [...strategy, 'steps', 0],
      [...strategy, 'stickiness'],
      [...strategy, 'match', 0],
      [...strategy, 'post_promotion'],
      ['analysis', 'any'],
      metric,
      [...metric, 'provider'],
      [...metric, 'provider', 'prometheus'],
      [...metric, 'provider', 'web'],
      [...metric, 'provider', 'command'],
    ];
    for (const path of paths) {
      const keys = knownKeysAt(path);
      assert.ok(keys.length > 0, `no keys at ${path.join('.')}`);
      for (const key of keys) {
        assert.match(
          STARTER_CONFIG,
          new RegExp(`\\b${key}:`),
          `the starter does not mention ${[...path, key].join('.')}`,
        );
      }
    }
  });
});
