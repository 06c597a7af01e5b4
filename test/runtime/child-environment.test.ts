import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childEnvironment } from '../../src/runtime/child-environment.js';

describe('the environment of a child process', () => {
  const server = {
    PATH: '/usr/bin',
    HOME: '/home/app',
    LANG: 'C.UTF-8',
    LC_ALL: 'C',
    TZ: 'UTC',
    TMPDIR: '/tmp',
    USER: 'app',
    CUTOVER_TOKEN: 'admin',
    CUTOVER_SDK_TOKEN: 'sdk',
    cutover_token: 'admin-lowercase',
    DATABASE_URL: 'postgres://secret',
    AWS_SECRET_ACCESS_KEY: 'k',
    NODE_OPTIONS: '--max-old-space-size=256',
  };

  it('is the minimal base plus what is set, nothing else of the server', () => {
    assert.deepEqual(childEnvironment({ set: { PORT: '4000' } }, server), {
      PATH: '/usr/bin',
      HOME: '/home/app',
      LANG: 'C.UTF-8',
      LC_ALL: 'C',
      TZ: 'UTC',
      TMPDIR: '/tmp',
      USER: 'app',
      PORT: '4000',
    });
  });

  it('adds inherited names, but never CUTOVER_* even when asked', () => {
    const env = childEnvironment({ inherit: ['NODE_OPTIONS', 'CUTOVER_TOKEN', 'cutover_token', 'NOT_SET'] }, server);
    assert.equal(env.NODE_OPTIONS, '--max-old-space-size=256');
    assert.equal(env.CUTOVER_TOKEN, undefined);
    assert.equal(env.cutover_token, undefined);
    assert.equal('NOT_SET' in env, false);
    assert.equal(env.DATABASE_URL, undefined);
  });

  it('lets what cutover sets win over the base (a DATABASE_URL given to a hook is its input)', () => {
    assert.equal(childEnvironment({ set: { HOME: '/srv', DATABASE_URL: 'postgres://hook' } }, server).HOME, '/srv');
    assert.equal(
      childEnvironment({ set: { DATABASE_URL: 'postgres://hook' } }, server).DATABASE_URL,
      'postgres://hook',
    );
  });
});
