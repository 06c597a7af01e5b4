import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { portConflictIn } from '../../src/core/port-conflict.js';

describe('a port conflict in the last log lines', () => {
  it("names the address from Node's, Go's and Python's messages", () => {
    assert.equal(
      portConflictIn(
        'Error: listen EADDRINUSE: address already in use 127.0.0.1:8080\n    at Server.setupListenHandle',
      ),
      '127.0.0.1:8080',
    );
    assert.equal(portConflictIn('listen tcp 0.0.0.0:9000: bind: address already in use'), '0.0.0.0:9000');
    assert.equal(portConflictIn('Error: listen EADDRINUSE: address already in use [::1]:3000'), '[::1]:3000');
    assert.equal(portConflictIn('OSError: [Errno 98] Address already in use'), '');
  });

  it('is null when the log shows no conflict', () => {
    assert.equal(portConflictIn(''), null);
    assert.equal(
      portConflictIn('sample-app v2 listening on 127.0.0.1:8080\nError: connect ECONNREFUSED 127.0.0.1:5432'),
      null,
    );
  });
});
