import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequestLogLine, REQUEST_LOG_MAX_LINE } from '../../../src/router/haproxy/request-log-line.js';

describe('parseRequestLogLine', () => {
  it('reads backend, server, status, whether a server answered, and the active time', () => {
    assert.deepEqual(parseRequestLogLine('cutover-req cutover_web_1 r2__web_r2_a 200 38 41'), {
      backend: 'cutover_web_1',
      server: 'r2__web_r2_a',
      status: 200,
      activeMs: 41,
      serverAnswered: true,
    });
    // Tr -1: HAProxy answered itself (no server response head), e.g. a 503 when the server refused.
    assert.equal(parseRequestLogLine('cutover-req cutover_web_0 r1__a 503 -1 3')?.serverAnswered, false);
  });

  it('ignores what is not one of cutover’s lines', () => {
    for (const line of [
      '',
      'Proxy cutover stopped (cumulated conns: FE: 8, BE: 0).',
      // Answered by the frontend: no server.
      'cutover-req cutover <NOSRV> 404 -1 0',
      'cutover-req cutover_unrouted <NOSRV> 503 -1 0',
      // Truncated, or a field that is not a number.
      'cutover-req cutover_web_0 r1__a 200 3',
      'cutover-req cutover_web_0 r1__a 200 x 4',
      'cutover-req cutover_web_0 r1__a 200 3 -4',
      'cutover-req cutover_web_0 r1__a 200 3 4 extra',
      'cutover-req Cutover_Web r1__a 200 3 4',
      'cutover-req cutover_web_0 r1__a 200 3 99999999999',
      `cutover-req cutover_web_0 ${'a'.repeat(REQUEST_LOG_MAX_LINE)} 200 3 4`,
    ]) {
      assert.equal(parseRequestLogLine(line), null, line.slice(0, 80));
    }
  });
});
