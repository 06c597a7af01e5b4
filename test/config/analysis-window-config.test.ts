import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueAt, issuesOf, parse } from './issues-of.js';

/**
 * Issue 20, item 4 (a): a window that analysis judges must last until the
 * analysis first measures it. The README's own rolling keys (monitor: 5s with
 * an analysis interval of 10s) reported "nothing vouches for the release" on
 * every batch and then succeeded; now such a file is refused at load, naming
 * the field, for every strategy that has such a window.
 */
function config(strategy: string[], metric = 'interval: 10s'): string {
  return [
    'analysis:',
    '  errors:',
    '    metrics:',
    '      - name: error-rate',
    '        provider: { builtin: error-rate }',
    `        ${metric}`,
    '        failure_condition: result > 0.05',
    'services:',
    '  api:',
    '    command: node api.js',
    '    strategy:',
    ...strategy.map((line) => `      ${line}`),
    '',
  ].join('\n');
}

describe('an analysis window shorter than the analysis it waits for is refused (CONFIG_INVALID)', () => {
  it('rolling: monitor 5s with an interval of 10s, naming monitor and what to set', () => {
    const { byPath } = issuesOf(config(['type: rolling', 'monitor: 5s', 'analysis: [errors]']));
    const issue = issueAt(byPath, 'services.api.strategy.monitor');
    assert.equal(
      issue.message,
      'monitor 5s is shorter than the analysis it waits for: "errors" first measures the window after 10s ' +
        "(error-rate's interval), so the window would close before any measurement of it; set monitor to at " +
        'least 10s, or a shorter interval on the metric',
    );
    assert.equal(issue.line, 13);
  });

  it('rolling: the default monitor (5s) counts too, and the default interval (10s)', () => {
    const { byPath } = issuesOf(config(['type: rolling', 'analysis: [errors]'], 'count: 3'));
    assert.match(issueAt(byPath, 'services.api.strategy').message, /^monitor 5s \(the default 5s\) is shorter/);
  });

  it('an initial_delay is when the analysis first looks', () => {
    const { byPath } = issuesOf(config(['type: rolling', 'monitor: 20s', 'analysis: [errors]'], 'initial_delay: 30s'));
    assert.match(issueAt(byPath, 'services.api.strategy.monitor').message, /after 30s \(error-rate's initial_delay\)/);
    assert.equal(
      parse(config(['type: rolling', 'monitor: 30s', 'analysis: [errors]'], 'initial_delay: 30s')).services.api
        ?.strategy.type,
      'rolling',
    );
  });

  it('canary: a step pause shorter than the interval of its analysis', () => {
    const { byPath } = issuesOf(
      config(['type: canary', 'steps: [{ weight: 10, pause: 5s, analysis: [errors] }, { weight: 100 }]']),
    );
    assert.match(
      issueAt(byPath, 'services.api.strategy.steps[0].pause').message,
      /^pause 5s is shorter than the analysis/,
    );
  });

  it('canary and blue-green: post_promotion and pre_promotion windows', () => {
    const canary = issuesOf(config(['type: canary', 'post_promotion: { window: 3s, analysis: [errors] }'])).byPath;
    assert.match(
      issueAt(canary, 'services.api.strategy.post_promotion.window').message,
      /^post_promotion\.window 3s is shorter/,
    );
    const blueGreen = issuesOf(
      config([
        'type: blue-green',
        'pre_promotion: { window: 2s, analysis: [errors] }',
        'post_promotion: { window: 4s, analysis: [errors] }',
      ]),
    ).byPath;
    assert.match(issueAt(blueGreen, 'services.api.strategy.pre_promotion.window').message, /^pre_promotion\.window 2s/);
    assert.match(
      issueAt(blueGreen, 'services.api.strategy.post_promotion.window').message,
      /^post_promotion\.window 4s/,
    );
  });

  it('windows as long as the interval, and windows without analysis, load', () => {
    for (const strategy of [
      ['type: rolling', 'monitor: 10s', 'analysis: [errors]'],
      ['type: rolling', 'monitor: 1s'],
      [
        'type: canary',
        'steps: [{ weight: 10, pause: 10s, analysis: [errors] }, { weight: 50, pause: promote, analysis: [errors] }, { weight: 100 }]',
      ],
      ['type: blue-green', 'post_promotion: { window: 1m, analysis: [errors] }'],
    ])
      assert.ok(parse(config(strategy)).services.api, strategy.join(', '));
  });
});

describe('on_inconclusive: pause | fail | continue, for every strategy that runs analysis', () => {
  it('defaults to pause, reads each value, and refuses anything else naming the field', () => {
    for (const type of ['rolling', 'canary', 'blue-green']) {
      const strategyOf = (extra: string[]) =>
        parse(config([`type: ${type}`, ...extra])).services.api?.strategy as { onInconclusive?: string };
      assert.equal(strategyOf([]).onInconclusive, 'pause', type);
      for (const value of ['pause', 'fail', 'continue'])
        assert.equal(strategyOf([`on_inconclusive: ${value}`]).onInconclusive, value, `${type} ${value}`);
      const { byPath } = issuesOf(config([`type: ${type}`, 'on_inconclusive: skip']));
      assert.equal(
        issueAt(byPath, 'services.api.strategy.on_inconclusive').message,
        'expected pause, fail or continue, got "skip"',
      );
    }
  });
});
