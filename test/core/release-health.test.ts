import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeLastAnswers,
  everyInstanceFailed,
  failedHealthMessage,
  MAX_ANSWER_CHARS,
  MAX_QUOTED_INSTANCES,
  type InstanceHealthView,
} from '../../src/core/release-health.js';

const view = (
  id: string,
  status: InstanceHealthView['status'],
  lastDetail: string | null = 'HTTP 503 (expected 200-399)',
  failedThreshold = status === 'unhealthy',
): InstanceHealthView => ({ id, status, failedThreshold, lastDetail });

describe('release health: when a new release can no longer become healthy', () => {
  it('fails only when every instance is unhealthy', () => {
    assert.equal(everyInstanceFailed([view('a', 'unhealthy'), view('b', 'unhealthy')]), true);
    assert.equal(everyInstanceFailed([view('a', 'unhealthy'), view('b', 'starting')]), false, 'one still starting');
    assert.equal(
      everyInstanceFailed([view('a', 'unhealthy'), view('b', 'healthy')]),
      false,
      'one flapping instance among healthy ones is not the rule',
    );
    assert.equal(everyInstanceFailed([]), false, 'no instance is no verdict');
    assert.equal(
      everyInstanceFailed([view('a', 'unhealthy'), view('b', 'unhealthy', 'connect ECONNREFUSED', false)]),
      false,
      'an instance whose port is not open yet may still be starting',
    );
  });

  it('quotes each instance and its last answer', () => {
    assert.equal(
      describeLastAnswers([view('web/web-2/green-0', 'unhealthy'), view('web/web-2/green-1', 'unhealthy', null)]),
      'web/web-2/green-0 is unhealthy: HTTP 503 (expected 200-399); web/web-2/green-1 is unhealthy: no check yet',
    );
  });

  it('is bounded: long answers are clipped to one line, and only the first instances are quoted', () => {
    const long = `exit 1: ${'x'.repeat(500)}\nsecond line`;
    const many = Array.from({ length: 12 }, (_, i) => view(`web/web-2/green-${i}`, 'unhealthy', long));
    const text = describeLastAnswers(many);
    assert.ok(!text.includes('\n'), 'one line');
    assert.match(text, /; and 7 more$/);
    assert.equal(text.split('; web/').length, MAX_QUOTED_INSTANCES);
    const first = text.split('; ')[0]!;
    assert.equal(first.length, 'web/web-2/green-0 is unhealthy: '.length + MAX_ANSWER_CHARS);
    assert.ok(text.length < 1200, `bounded, got ${text.length} characters`);
  });

  it('says how many checks failed and after which start period', () => {
    const message = failedHealthMessage('web-2', [view('i0', 'unhealthy'), view('i1', 'unhealthy')], {
      unhealthyThreshold: 3,
      startPeriodMs: 5000,
    });
    assert.match(message, /^release web-2 cannot become healthy: all 2 instances failed 3 health checks in a row/);
    assert.match(message, /after the start period \(5000 ms\)/);
    assert.match(message, /last answers: i0 is unhealthy: HTTP 503/);
  });
});
