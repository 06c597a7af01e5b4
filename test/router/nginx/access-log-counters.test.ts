import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { AccessLogCounters, parseAccessLogLine } from '../../../src/router/nginx/access-log-counters.js';
import { AccessLogTail } from '../../../src/router/nginx/access-log-tail.js';
import { DEFAULT_LATENCY_BUCKETS_MS } from '../../../src/core/latency-histogram.js';

/** The access log side of the nginx router's counters, on real files (no nginx needed). */
describe('nginx access log counters', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-access-log-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses the cutover_v1 format, taking the last try of a retried request', () => {
    assert.deepEqual(parseAccessLogLine('1700000000.123|cutover_web__r1|200|0.004|200|0.003'), {
      release: 'cutover_web__r1',
      status: 200,
      requestTimeMs: 4,
      upstreamAnswered: true,
    });
    // First instance refused the connection, the second answered.
    assert.equal(parseAccessLogLine('1.0|cutover_web__r1|200|0.010|502, 200|-, 0.008')?.upstreamAnswered, true);
    // No instance answered: nginx made the 502 itself.
    assert.equal(parseAccessLogLine('1.0|cutover_web__r1|502|0.001|502|-')?.upstreamAnswered, false);
    assert.equal(parseAccessLogLine('1.0|cutover_web__r1|502|0.001|-|-')?.upstreamAnswered, false);
    assert.equal(parseAccessLogLine('127.0.0.1 - - [24/Nov/2026] "GET / HTTP/1.1" 200'), null);
    assert.equal(parseAccessLogLine(''), null);
  });

  it('counts like the embedded proxy: status classes for upstream answers, error for nginx-made ones, 499 in requests only', () => {
    const counters = new AccessLogCounters();
    counters.track('cutover_web__r1', 'web', 'r1');
    counters.ingest([
      '1.0|cutover_web__r1|200|0.004|200|0.003',
      '1.0|cutover_web__r1|404|0.030|404|0.030',
      '1.0|cutover_web__r1|503|0.002|503|0.002',
      '1.0|cutover_web__r1|502|0.001|502|-',
      '1.0|cutover_web__r1|499|0.500|-|-',
      '1.0|cutover_other__r9|200|0.004|200|0.003',
    ]);
    const [web] = counters.snapshots();
    assert.ok(web !== undefined);
    assert.equal(web.requests, 5);
    assert.deepEqual(web.status, { '1xx': 0, '2xx': 1, '3xx': 0, '4xx': 1, '5xx': 1, error: 1 });
    assert.deepEqual(web.latency.bucketsMs, [...DEFAULT_LATENCY_BUCKETS_MS]);
    assert.equal(web.latency.count, 3);
    assert.deepEqual(counters.latencySamples('web', 'r1'), [4, 30, 2]);
    assert.equal(counters.snapshots().length, 1, 'a release never routed is not listed');
  });

  it('tails only new lines, keeps a partial line for later, and starts over after truncation or rotation', () => {
    const file = path.join(dir, 'access.log');
    fs.writeFileSync(file, 'written before cutover attached\n');
    const tail = new AccessLogTail(file);
    assert.deepEqual(tail.readLines(), []);
    fs.appendFileSync(file, 'one\ntw');
    assert.deepEqual(tail.readLines(), ['one']);
    fs.appendFileSync(file, 'o\n');
    assert.deepEqual(tail.readLines(), ['two']);
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, 'after truncation\n');
    assert.deepEqual(tail.readLines(), ['after truncation']);
    // logrotate: the file is moved away and nginx (after USR1) writes a new one.
    fs.renameSync(file, `${file}.1`);
    assert.deepEqual(tail.readLines(), []);
    fs.writeFileSync(file, 'in the new file\n');
    assert.deepEqual(tail.readLines(), ['in the new file']);
  });
});
