import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RollingStrategyConfig, StrategyConfig } from '../../src/config/types.js';
import { issueAt, issuesOf, parse } from './issues-of.js';
import { ROLLING_EXAMPLE } from './rolling-example.js';

/**
 * `strategy: rolling` and `strategy: recreate` in cutover.yaml, and a
 * service's `critical`: the issue's example loads into the resolved configs,
 * the short forms get the defaults, and every mistake is reported at once
 * with its path, line and column.
 */
function strategyOf(text: string, service = 'api'): StrategyConfig | undefined {
  return parse(text).services[service]?.strategy;
}

function rollingOf(text: string): RollingStrategyConfig {
  const strategy = strategyOf(text);
  assert.ok(strategy?.type === 'rolling', `expected a rolling strategy, got ${strategy?.type}`);
  return strategy;
}

/**
 * A service `api` with the given instances and strategy lines (indented under
 * `strategy:`, from line 12) and two templates, error-rate and slow.
 */
function withStrategy(lines: string[], instances = 3): string {
  return [
    'analysis:',
    '  error-rate:',
    '    metrics:',
    '      - { name: errors, provider: { builtin: error-rate }, count: 3, failure_condition: result > 0.05 }',
    '  slow:',
    '    metrics: [{ name: p95, provider: { builtin: latency-p95 }, failure_condition: result > 300 }]',
    'services:',
    '  api:',
    '    command: node api.js',
    `    instances: ${instances}`,
    '    strategy:',
    ...lines.map((line) => `      ${line}`),
    '',
  ].join('\n');
}

const ROLLING_DEFAULTS: RollingStrategyConfig = {
  type: 'rolling',
  parallelism: 1,
  order: 'start-first',
  delayMs: 0,
  monitorMs: 5_000,
  failureAction: 'rollback',
  maxFailureRatio: 0,
  deployTimeoutMs: 120_000,
  analysis: [],
  onInconclusive: 'pause',
};

describe('rolling strategy: the example config', () => {
  it('resolves the rolling service with ms durations and its templates, and the recreate service', () => {
    const config = parse(ROLLING_EXAMPLE);
    assert.deepEqual(config.services.api?.strategy, {
      type: 'rolling',
      parallelism: 1,
      order: 'start-first',
      delayMs: 0,
      monitorMs: 10_000,
      failureAction: 'rollback',
      maxFailureRatio: 0,
      deployTimeoutMs: 120_000,
      analysis: ['errors'],
      onInconclusive: 'pause',
    });
    assert.equal(config.services.api?.critical, true);
    assert.deepEqual(config.services.dev?.strategy, { type: 'recreate', deployTimeoutMs: 120_000 });
    assert.equal(config.services.dev?.critical, false);
  });
});

describe('rolling strategy: defaults and short forms', () => {
  it('gives `strategy: rolling` and `{ type: rolling }` one instance at a time, start-first, 5 s monitor, rollback', () => {
    assert.deepEqual(rollingOf('services: { api: { command: a, instances: 3, strategy: rolling } }'), ROLLING_DEFAULTS);
    assert.deepEqual(rollingOf('services: { api: { command: a, strategy: { type: rolling } } }'), ROLLING_DEFAULTS);
  });

  it('reads `strategy: recreate` and its long form with a timeout', () => {
    assert.deepEqual(strategyOf('services: { api: { command: a, strategy: recreate } }'), {
      type: 'recreate',
      deployTimeoutMs: 120_000,
    });
    assert.deepEqual(strategyOf('services: { api: { command: a, strategy: { type: recreate } } }'), {
      type: 'recreate',
      deployTimeoutMs: 120_000,
    });
    assert.deepEqual(strategyOf('services: { api: { command: a, strategy: { type: recreate, timeout: 45s } } }'), {
      type: 'recreate',
      deployTimeoutMs: 45_000,
    });
  });

  it('reads every key, with a single template name as a list of one and zero delay allowed', () => {
    const strategy = rollingOf(
      withStrategy([
        'type: rolling',
        'parallelism: 3',
        'order: stop-first',
        'delay: 1m30s',
        'monitor: 30s',
        'failure_action: pause',
        'max_failure_ratio: 0.25',
        'timeout: 45s',
        'analysis: error-rate',
        'on_inconclusive: fail',
      ]),
    );
    assert.deepEqual(strategy, {
      type: 'rolling',
      parallelism: 3,
      order: 'stop-first',
      delayMs: 90_000,
      monitorMs: 30_000,
      failureAction: 'pause',
      maxFailureRatio: 0.25,
      deployTimeoutMs: 45_000,
      analysis: ['error-rate'],
      onInconclusive: 'fail',
    });
    const other = rollingOf(
      withStrategy(['type: rolling', 'failure_action: continue', 'max_failure_ratio: 1', 'delay: 0']),
    );
    assert.deepEqual([other.failureAction, other.maxFailureRatio, other.delayMs], ['continue', 1, 0]);
  });

  it('sizes the batch with max_surge for start-first and max_unavailable for stop-first', () => {
    assert.equal(rollingOf(withStrategy(['type: rolling', 'max_surge: 2'])).parallelism, 2);
    assert.equal(rollingOf(withStrategy(['type: rolling', 'order: start-first', 'max_surge: 3'])).parallelism, 3);
    const stopFirst = rollingOf(withStrategy(['type: rolling', 'order: stop-first', 'max_unavailable: 2']));
    assert.deepEqual([stopFirst.order, stopFirst.parallelism], ['stop-first', 2]);
  });

  it('makes services non-critical unless they say so, whatever their strategy', () => {
    const config = parse(
      'services: { web: { command: a }, api: { command: b, critical: true, strategy: canary }, dev: { command: c, critical: false, strategy: recreate } }',
    );
    assert.deepEqual(
      Object.values(config.services).map((service) => [service.name, service.strategy.type, service.critical]),
      [
        ['web', 'blue-green', false],
        ['api', 'canary', true],
        ['dev', 'recreate', false],
      ],
    );
  });
});

describe('rolling strategy: every problem at once, with its place', () => {
  const INVALID = withStrategy([
    'type: rolling', //                 12
    'parallelism: 4', //                13
    'max_surge: 2', //                  14
    'order: sideways', //               15
    'delay: soon', //                   16
    'monitor: -5s', //                  17
    'failure_action: stop', //          18
    'max_failure_ratio: 1.5', //        19
    'timeout: 0s', //                   20
    'analysis: [eror-rate]', //         21
    'steps: []', //                     22
    'scale_down_delay: 1m', //          23
    'paralelism: 2', //                 24
  ]);

  it('reports each with path, message, line and column', () => {
    const { byPath, issues, message } = issuesOf(INVALID);
    const strategy = 'services.api.strategy';
    const expected: [string, string, number, number][] = [
      [
        `${strategy}.parallelism`,
        'a batch of 4 is larger than the service (instances: 3); set at most 3, or raise instances',
        13,
        20,
      ],
      [
        `${strategy}.max_surge`,
        'is another name for parallelism (the batch size, with order: start-first); set only one of them',
        14,
        7,
      ],
      [`${strategy}.order`, 'expected start-first or stop-first, got "sideways"', 15, 14],
      [
        `${strategy}.delay`,
        'expected a duration like 500ms, 1s, 1.5s, 2m, 1m30s or a number of seconds, got "soon"',
        16,
        14,
      ],
      [`${strategy}.monitor`, 'expected a non-negative duration, got "-5s"', 17, 16],
      [`${strategy}.failure_action`, 'expected rollback, pause or continue, got "stop"', 18, 23],
      [
        `${strategy}.max_failure_ratio`,
        'expected a number from 0 to 1 (the share of instances allowed to fail), like 0.25, got 1.5',
        19,
        26,
      ],
      [`${strategy}.timeout`, 'expected a duration greater than zero, got "0s"', 20, 16],
      [`${strategy}.analysis[0]`, 'no analysis template named "eror-rate"; did you mean "error-rate"?', 21, 18],
      [`${strategy}.steps`, 'unknown key here; it is only used with type: canary', 22, 7],
      [`${strategy}.scale_down_delay`, 'unknown key here; it is only used with type: blue-green or canary', 23, 7],
      [`${strategy}.paralelism`, 'unknown key; did you mean "parallelism"?', 24, 7],
    ];
    for (const [path, text, line, column] of expected) {
      assert.deepEqual(issueAt(byPath, path), { path, message: text, line, column }, path);
    }
    assert.equal(issues.length, expected.length, message);
    assert.match(message, /^\/srv\/site\/cutover\.yaml has 12 problems:\n/);
    assert.match(
      message,
      /strategy\.parallelism: a batch of 4 is larger than the service \(instances: 3\); set at most 3, or raise instances \(\/srv\/site\/cutover\.yaml:13:20\)/,
    );
  });

  it('takes max_surge only with start-first and max_unavailable only with stop-first, saying which order applies', () => {
    const unavailable = issuesOf(withStrategy(['type: rolling', 'max_unavailable: 1'])).byPath;
    assert.deepEqual(issueAt(unavailable, 'services.api.strategy.max_unavailable'), {
      path: 'services.api.strategy.max_unavailable',
      message:
        'only used with order: stop-first (old instances stop before new ones start); this strategy is start-first (the default): ' +
        'set order: stop-first, or size the batch with max_surge or parallelism',
      line: 13,
      column: 7,
    });
    const surge = issuesOf(withStrategy(['type: rolling', 'order: stop-first', 'max_surge: 1'])).byPath;
    assert.deepEqual(issueAt(surge, 'services.api.strategy.max_surge'), {
      path: 'services.api.strategy.max_surge',
      message:
        'only used with order: start-first (new instances start before old ones stop); this strategy is stop-first: ' +
        'set order: start-first, or size the batch with max_unavailable or parallelism',
      line: 14,
      column: 7,
    });
  });

  it('refuses max_unavailable together with parallelism, and batch sizes that are not whole numbers ≥ 1', () => {
    const { byPath, issues } = issuesOf(
      withStrategy(['type: rolling', 'order: stop-first', 'parallelism: 0', 'max_unavailable: 1.5']),
    );
    assert.deepEqual(
      issues.map((issue) => [issue.path, issue.message, issue.line]),
      [
        ['services.api.strategy.parallelism', 'expected a whole number ≥ 1, got 0', 14],
        ['services.api.strategy.max_unavailable', 'expected a whole number ≥ 1, got 1.5', 15],
      ],
    );
    assert.equal(issueAt(byPath, 'services.api.strategy.parallelism').column, 20);

    const both = issuesOf(
      withStrategy(['type: rolling', 'order: stop-first', 'parallelism: 1', 'max_unavailable: 1']),
    ).byPath;
    assert.deepEqual(issueAt(both, 'services.api.strategy.max_unavailable'), {
      path: 'services.api.strategy.max_unavailable',
      message: 'is another name for parallelism (the batch size, with order: stop-first); set only one of them',
      line: 15,
      column: 7,
    });
  });

  it('refuses a batch larger than the service, whichever key sizes it, and takes one as large as the service', () => {
    const byDefault = issuesOf(
      'services:\n  api:\n    command: a\n    strategy: { type: rolling, parallelism: 2 }\n',
    ).byPath;
    assert.deepEqual(issueAt(byDefault, 'services.api.strategy.parallelism'), {
      path: 'services.api.strategy.parallelism',
      message: 'a batch of 2 is larger than the service (instances: 1, the default); set at most 1, or raise instances',
      line: 4,
      column: 45,
    });
    const surge = issuesOf(withStrategy(['type: rolling', 'max_surge: 5'], 4)).byPath;
    assert.equal(
      issueAt(surge, 'services.api.strategy.max_surge').message,
      'a batch of 5 is larger than the service (instances: 4); set at most 4, or raise instances',
    );
    const unavailable = issuesOf(withStrategy(['type: rolling', 'order: stop-first', 'max_unavailable: 3'], 2)).byPath;
    assert.equal(issueAt(unavailable, 'services.api.strategy.max_unavailable').line, 14);

    assert.equal(rollingOf(withStrategy(['type: rolling', 'parallelism: 3'], 3)).parallelism, 3);
  });

  it('needs a monitor window for the batch analysis to measure in', () => {
    const { byPath } = issuesOf(withStrategy(['type: rolling', 'monitor: 0s', 'analysis: [error-rate, slow]']));
    assert.deepEqual(issueAt(byPath, 'services.api.strategy.monitor'), {
      path: 'services.api.strategy.monitor',
      message:
        "analysis runs during each batch's monitor window, which 0s closes before anything is measured; set a longer monitor (default 5s) or remove analysis",
      line: 13,
      column: 16,
    });
    // Without analysis a zero window is fine: the batch only has to become healthy.
    assert.equal(rollingOf(withStrategy(['type: rolling', 'monitor: 0', 'analysis: []'])).monitorMs, 0);
    assert.deepEqual(rollingOf(withStrategy(['type: rolling', 'monitor: 1m', 'analysis: [slow]'])).analysis, ['slow']);
  });

  it('refuses a template reference when no template is defined, pointing at where to define one', () => {
    const { byPath } = issuesOf(
      'services:\n  api:\n    command: a\n    strategy: { type: rolling, analysis: errors }\n',
    );
    assert.deepEqual(issueAt(byPath, 'services.api.strategy.analysis'), {
      path: 'services.api.strategy.analysis',
      message: 'no analysis template named "errors"; define it under analysis: at the top of the file',
      line: 4,
      column: 42,
    });
  });

  it('names the strategy a key belongs to when another strategy has it', () => {
    const { issues } = issuesOf(
      [
        'services:',
        '  dev:',
        '    command: a',
        '    strategy: { type: recreate, parallelism: 2, auto_switch: true, analysis: [], timout: 1m }',
        '  web:',
        '    command: b',
        '    strategy: { max_surge: 1, analysis: [] }',
        '  api:',
        '    command: c',
        '    strategy: { type: canary, order: stop-first }',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      issues.map((issue) => `${issue.path}: ${issue.message} (${issue.line}:${issue.column})`),
      [
        'services.dev.strategy.parallelism: unknown key here; it is only used with type: rolling (4:33)',
        'services.dev.strategy.auto_switch: unknown key here; it is only used with type: blue-green (4:49)',
        'services.dev.strategy.analysis: unknown key here; it is only used with type: canary or rolling (4:68)',
        'services.dev.strategy.timout: unknown key; did you mean "timeout"? (4:82)',
        'services.web.strategy.max_surge: unknown key here; it is only used with type: rolling (7:17)',
        'services.web.strategy.analysis: unknown key here; it is only used with type: canary or rolling (7:31)',
        'services.api.strategy.order: unknown key here; it is only used with type: rolling (10:31)',
      ],
    );
  });

  it('refuses a critical that is not true or false', () => {
    const { byPath } = issuesOf('services:\n  api:\n    command: a\n    critical: yes\n');
    assert.deepEqual(issueAt(byPath, 'services.api.critical'), {
      path: 'services.api.critical',
      message: 'expected true or false, got "yes"',
      line: 4,
      column: 15,
    });
  });
});
