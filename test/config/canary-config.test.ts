import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CanaryStrategyConfig } from '../../src/config/types.js';
import { assertMatchValue as assertHaproxyMatchValue } from '../../src/router/haproxy/haproxy-names.js';
import { assertCookieName as assertNginxCookie, headerVariable } from '../../src/router/nginx/nginx-names.js';
import { CANARY_EXAMPLE } from './canary-example.js';
import { issueAt, issuesOf, parse } from './issues-of.js';

/**
 * `strategy: canary` in cutover.yaml: the issue's example loads into the
 * resolved CanaryStrategyConfig, a bare `strategy: canary` gets the defaults,
 * and every mistake is reported at once with its path, line and column.
 */
function canaryOf(text: string): CanaryStrategyConfig {
  const strategy = parse(text).services.web?.strategy;
  assert.ok(strategy?.type === 'canary', `expected a canary strategy, got ${strategy?.type}`);
  return strategy;
}

/** A service with the given strategy lines (indented under `strategy:`) and one template, error-rate. */
function withStrategy(lines: string[], template = 'error-rate'): string {
  return [
    'analysis:',
    `  ${template}:`,
    '    metrics:',
    '      - { name: errors, provider: { builtin: error-rate }, count: 3, failure_condition: result > 0.05 }',
    'services:',
    '  web:',
    '    command: node server.js',
    '    strategy:',
    ...lines.map((line) => `      ${line}`),
    '',
  ].join('\n');
}

describe('canary strategy: the example config', () => {
  it('resolves steps, stickiness, match rules, analysis and durations', () => {
    assert.deepEqual(canaryOf(CANARY_EXAMPLE), {
      type: 'canary',
      steps: [
        { weight: 5, pauseMs: 60_000, analysis: ['error-rate'] },
        { weight: 25, pauseMs: 120_000, analysis: [] },
        { weight: 50, pauseMs: null, analysis: [] },
        { weight: 100, pauseMs: 0, analysis: [] },
      ],
      canaryInstances: 1,
      stickiness: { by: 'cookie', name: 'cutover_canary' },
      match: [
        { header: 'X-Canary', value: 'always' },
        { cookie: 'canary', value: '1' },
      ],
      analysis: ['error-rate'],
      postPromotion: { windowMs: 300_000, analysis: ['error-rate'] },
      scaleDownDelayMs: 600_000,
      deployTimeoutMs: 120_000,
      onRestart: 'resume',
      onInconclusive: 'pause',
    });
  });
});

describe('canary strategy: defaults and short forms', () => {
  it('gives a bare `strategy: canary` 5 → 25 → 50 (30 s each) → 100, with the service’s instance count', () => {
    const strategy = canaryOf('services:\n  web:\n    command: a\n    instances: 3\n    strategy: canary\n');
    assert.deepEqual(strategy, {
      type: 'canary',
      steps: [
        { weight: 5, pauseMs: 30_000, analysis: [] },
        { weight: 25, pauseMs: 30_000, analysis: [] },
        { weight: 50, pauseMs: 30_000, analysis: [] },
        { weight: 100, pauseMs: 0, analysis: [] },
      ],
      canaryInstances: 3,
      stickiness: { by: 'cookie', name: 'cutover_canary' },
      match: [],
      analysis: [],
      postPromotion: null,
      scaleDownDelayMs: 600_000,
      deployTimeoutMs: 120_000,
      onRestart: 'resume',
      onInconclusive: 'pause',
    });
  });

  it('adds the final 100% step when the steps stop short of it, and reads every pause form', () => {
    const strategy = canaryOf(
      withStrategy([
        'type: canary',
        'steps:',
        '  - { weight: 0, pause: 10s }',
        '  - { weight: 10, pause: indefinite }',
        '  - { weight: 10, pause: {} }',
        '  - { weight: 20, pause: 1m30s, analysis: error-rate }',
        '  - { weight: 30 }',
      ]),
    );
    assert.deepEqual(strategy.steps, [
      { weight: 0, pauseMs: 10_000, analysis: [] },
      { weight: 10, pauseMs: null, analysis: [] },
      { weight: 10, pauseMs: null, analysis: [] },
      { weight: 20, pauseMs: 90_000, analysis: ['error-rate'] },
      { weight: 30, pauseMs: 0, analysis: [] },
      { weight: 100, pauseMs: 0, analysis: [] },
    ]);
  });

  it('reads stickiness by header and by ip, and match values written as numbers', () => {
    const byHeader = canaryOf(
      withStrategy([
        'type: canary',
        'stickiness: { by: header, name: X-User-Id }',
        'match: [{ cookie: beta, value: 1 }]',
      ]),
    );
    assert.deepEqual(byHeader.stickiness, { by: 'header', name: 'X-User-Id' });
    assert.deepEqual(byHeader.match, [{ cookie: 'beta', value: '1' }]);
    assert.deepEqual(canaryOf(withStrategy(['type: canary', 'stickiness: ip'])).stickiness, { by: 'ip', name: '' });
    assert.deepEqual(canaryOf(withStrategy(['type: canary', 'stickiness: cookie'])).stickiness, {
      by: 'cookie',
      name: 'cutover_canary',
    });
  });

  it('resumes a rollout interrupted by a controller restart unless on_restart says abort', () => {
    assert.equal(canaryOf(withStrategy(['type: canary'])).onRestart, 'resume');
    assert.equal(canaryOf(withStrategy(['type: canary', 'on_restart: resume'])).onRestart, 'resume');
    assert.equal(canaryOf(withStrategy(['type: canary', 'on_restart: abort'])).onRestart, 'abort');
  });

  it('keeps blue-green exactly as it was', () => {
    const strategy = parse('services: { web: { command: a, strategy: { type: blue-green, auto_switch: true } } }')
      .services.web?.strategy;
    assert.deepEqual(strategy, {
      type: 'blue-green',
      autoSwitch: true,
      autoCleanup: false,
      scaleDownDelayMs: 600_000,
      deployTimeoutMs: 120_000,
      smoke: [],
      postPromotion: null,
      prePromotion: null,
      onInconclusive: 'pause',
    });
  });
});

describe('canary strategy: every problem at once, with its place', () => {
  const INVALID = withStrategy([
    'type: canary', //                                                    9
    'steps:', //                                                          10
    '  - { weight: 25, pause: 1m, analysis: [eror-rate] }', //            11
    '  - { weight: 10, pause: soon }', //                                 12
    '  - { weight: 120 }', //                                             13
    'canary_instances: 0', //                                             14
    'stickiness: { by: header }', //                                      15
    'match: [{ header: X-Canary, cookie: c, value: a }, { value: b }]', // 16
    'post_promotion: { window: 5m }', //                                  17
    'auto_switch: true', //                                               18
    'stepz: 1', //                                                        19
  ]);

  it('reports each with path, message, line and column', () => {
    const { byPath, issues, message } = issuesOf(INVALID);
    const expected: [string, string, number, number][] = [
      [
        'services.web.strategy.steps[0].analysis[0]',
        'no analysis template named "eror-rate"; did you mean "error-rate"?',
        11,
        47,
      ],
      ['services.web.strategy.steps[1].weight', 'weights must not go down: 10 comes after 25 in steps[0]', 12, 21],
      [
        'services.web.strategy.steps[1].pause',
        'expected a duration like 30s or 5m, or promote (wait for `cutover promote`; also indefinite or {}), got "soon"',
        12,
        32,
      ],
      ['services.web.strategy.steps[2].weight', 'expected a whole number from 0 to 100, got 120', 13, 21],
      ['services.web.strategy.canary_instances', 'expected a whole number ≥ 1, got 0', 14, 25],
      [
        'services.web.strategy.stickiness.name',
        'required for by: header: the request header that tells users apart, like X-User-Id',
        15,
        7,
      ],
      [
        'services.web.strategy.match[0].cookie',
        'choose header or cookie for one rule, not both (write two rules to match either)',
        16,
        35,
      ],
      ['services.web.strategy.match[1]', 'expected header or cookie, like { header: X-Canary, value: always }', 16, 58],
      [
        'services.web.strategy.post_promotion.analysis',
        'expected at least one analysis template to run after promotion, like [error-rate]',
        17,
        7,
      ],
      ['services.web.strategy.auto_switch', 'unknown key here; it is only used with type: blue-green', 18, 7],
      ['services.web.strategy.stepz', 'unknown key; did you mean "steps"?', 19, 7],
    ];
    for (const [path, text, line, column] of expected) {
      assert.deepEqual(issueAt(byPath, path), { path, message: text, line, column }, path);
    }
    assert.equal(issues.length, expected.length, message);
    assert.match(message, /^\/srv\/site\/cutover\.yaml has 11 problems:\n/);
    assert.match(
      message,
      /steps\[0\]\.analysis\[0\]: no analysis template named "eror-rate"; did you mean "error-rate"\? \(\/srv\/site\/cutover\.yaml:11:47\)/,
    );
  });

  it('refuses no steps, an unknown strategy, an unknown template in any list, and a step too short for its analysis', () => {
    assert.equal(
      issueAt(issuesOf(withStrategy(['type: canary', 'steps: []'])).byPath, 'services.web.strategy.steps').message,
      'expected at least one step, like - { weight: 25, pause: 1m }',
    );
    assert.equal(
      issueAt(issuesOf(withStrategy(['type: rainbow'])).byPath, 'services.web.strategy.type').message,
      'expected "blue-green", "canary", "rolling" or "recreate", got "rainbow"',
    );
    const references = issuesOf(
      withStrategy(['type: canary', 'analysis: latency', 'post_promotion: { analysis: [errors-rate] }']),
    ).byPath;
    assert.equal(
      issueAt(references, 'services.web.strategy.analysis').message,
      'no analysis template named "latency"; defined: error-rate',
    );
    assert.equal(
      issueAt(references, 'services.web.strategy.post_promotion.analysis[0]').message,
      'no analysis template named "errors-rate"; did you mean "error-rate"?',
    );

    // A metric without count measures until its step ends: a step with no pause would end before it measures.
    const untilStepEnds = [
      'analysis:',
      '  slow:',
      '    metrics: [{ name: p95, provider: { builtin: latency-p95 }, failure_condition: result > 300 }]',
      'services:',
      '  web:',
      '    command: a',
      '    strategy: { type: canary, steps: [{ weight: 10, analysis: [slow] }, { weight: 50, pause: 0s, analysis: [slow] }] }',
      '',
    ].join('\n');
    const { byPath } = issuesOf(untilStepEnds);
    assert.match(
      issueAt(byPath, 'services.web.strategy.steps[0]').message,
      /a step running analysis "slow" needs a pause: its metric "p95" has no count/,
    );
    assert.equal(issueAt(byPath, 'services.web.strategy.steps[1].pause').line, 7);
  });

  it('refuses an on_restart other than resume or abort, and on_restart outside a canary', () => {
    assert.deepEqual(
      issueAt(
        issuesOf(withStrategy(['type: canary', 'on_restart: rollback'])).byPath,
        'services.web.strategy.on_restart',
      ),
      {
        path: 'services.web.strategy.on_restart',
        message: 'expected resume or abort, got "rollback"',
        line: 10,
        column: 19,
      },
    );
    assert.equal(
      issueAt(
        issuesOf(withStrategy(['type: blue-green', 'on_restart: resume'])).byPath,
        'services.web.strategy.on_restart',
      ).message,
      'unknown key here; it is only used with type: canary',
    );
  });

  it('refuses more canary instances than the service runs: the promoted canary would keep them all', () => {
    const service = (instances: string, canary: number) =>
      `services:\n  web:\n    command: a\n${instances}    strategy: { type: canary, canary_instances: ${canary} }\n`;
    assert.deepEqual(
      issueAt(issuesOf(service('    instances: 1\n', 3)).byPath, 'services.web.strategy.canary_instances'),
      {
        path: 'services.web.strategy.canary_instances',
        message:
          '3 canary instances are more than the service runs (instances: 1); the canary may run fewer, not more: set at most 1, or raise instances',
        line: 5,
        column: 49,
      },
    );
    assert.match(
      issueAt(issuesOf(service('', 5)).byPath, 'services.web.strategy.canary_instances').message,
      /\(instances: 1, the default\)/,
    );
    const fewer = canaryOf(service('    instances: 3\n', 1));
    assert.equal(fewer.canaryInstances, 1);
    assert.equal(canaryOf(service('    instances: 3\n', 3)).canaryInstances, 3, 'as many as the service is fine');
  });

  it('refuses a template reference when no template is defined, pointing at where to define one', () => {
    const { byPath } = issuesOf(
      'services:\n  web:\n    command: a\n    strategy: { type: canary, analysis: [errors] }\n',
    );
    assert.deepEqual(issueAt(byPath, 'services.web.strategy.analysis[0]'), {
      path: 'services.web.strategy.analysis[0]',
      message: 'no analysis template named "errors"; define it under analysis: at the top of the file',
      line: 4,
      column: 42,
    });
  });
});

describe('canary strategy: names and values the router can render', () => {
  const strategy = [
    'type: canary',
    'stickiness: { by: header, name: X-User.Id }',
    'match:',
    '  - { cookie: "beta~group", value: "yes" }',
    '  - { header: X-Canary, value: "beta tester, 50%" }',
  ];
  const shape = {
    stickiness: { by: 'header' as const, name: 'X-User.Id' },
    match: [
      { cookie: 'beta~group', value: 'yes' },
      { header: 'X-Canary', value: 'beta tester, 50%' },
    ],
  };
  const nginx = 'server: { router: nginx, nginx: { main_config: /etc/nginx/nginx.conf, include_file: /etc/c.conf } }\n';

  it('takes them with the embedded proxy, which compares them as written', () => {
    assert.deepEqual(canaryOf(withStrategy(strategy)).stickiness, shape.stickiness);
  });

  it('refuses at load, with the field, what nginx would refuse at the first canary', () => {
    assert.throws(() => headerVariable(shape.stickiness.name), /cannot be routed on by nginx/);
    assert.throws(() => assertNginxCookie('beta~group'), /cannot be routed on by nginx/);
    const { byPath } = issuesOf(nginx + withStrategy(strategy));
    assert.match(issueAt(byPath, 'services.web.strategy.stickiness.name').message, /nginx router routes on a header/);
    assert.match(issueAt(byPath, 'services.web.strategy.match[0].cookie').message, /nginx router routes on a cookie/);
    // nginx compares a quoted string: any value goes.
    assert.equal(byPath.has('services.web.strategy.match[1].value'), false);
  });

  it('refuses at load, with the field, what HAProxy would refuse at the first canary', () => {
    assert.throws(() => assertHaproxyMatchValue(shape.match[1]?.value ?? ''), /cannot be routed on by HAProxy/);
    const { byPath } = issuesOf(`server: { router: haproxy }\n${withStrategy(strategy)}`);
    assert.match(issueAt(byPath, 'services.web.strategy.stickiness.name').message, /haproxy router routes on a header/);
    assert.match(issueAt(byPath, 'services.web.strategy.match[0].cookie').message, /haproxy router routes on a cookie/);
    assert.match(issueAt(byPath, 'services.web.strategy.match[1].value').message, /without spaces/);
    const fine = withStrategy([
      'type: canary',
      'match: [{ header: X-Canary, value: always }, { cookie: beta, value: 1 }]',
    ]);
    assert.equal(canaryOf(`server: { router: haproxy }\n${fine}`).match.length, 2);
  });
});
