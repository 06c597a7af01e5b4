import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { substituteEnv, substitutePlaceholders } from '../../src/runtime/process/placeholders.js';
import { nextRestartAttempt, nextRestartDelay } from '../../src/core/restart-backoff.js';
import { shellScriptFor } from '../../src/runtime/process/shell-command.js';

const values = { VERSION: 'v2', PORT: '4100', SLOT: 'green', INSTANCE: '1' };

describe('placeholders', () => {
  it('substitutes ${VERSION} ${PORT} ${SLOT} ${INSTANCE} and leaves other text alone', () => {
    assert.equal(
      substitutePlaceholders(
        'node app.js --port ${PORT} --tag ${VERSION}-${SLOT}-${INSTANCE} ${HOME} $PORT ${PORT',
        values,
      ),
      'node app.js --port 4100 --tag v2-green-1 ${HOME} $PORT ${PORT',
    );
  });

  it('substitutes in env values, not keys', () => {
    assert.deepEqual(
      substituteEnv({ APP_VERSION: '${VERSION}', '${PORT}': 'x', URL: 'http://127.0.0.1:${PORT}/' }, values),
      {
        APP_VERSION: 'v2',
        '${PORT}': 'x',
        URL: 'http://127.0.0.1:4100/',
      },
    );
  });
});

describe('shell script for a command', () => {
  it('puts exec in front of a simple command so the pid is the app', () => {
    assert.equal(shellScriptFor('node server.js'), 'exec node server.js');
    assert.equal(shellScriptFor('  node -e "a(); b | c"  '), 'exec node -e "a(); b | c"');
    assert.equal(shellScriptFor("node -e 'x && y'"), "exec node -e 'x && y'");
    assert.equal(shellScriptFor('node app.js --name $(hostname)'), 'exec node app.js --name $(hostname)');
  });

  it('keeps leading assignments before exec', () => {
    assert.equal(
      shellScriptFor('NODE_ENV=production FOO="a b" node app.js'),
      'NODE_ENV=production FOO="a b" exec node app.js',
    );
  });

  it('leaves compound commands and reserved words alone', () => {
    for (const command of [
      'cd app && node server.js',
      'node a & wait',
      'a | b',
      'a; b',
      '(node a)',
      'exec node a',
      'if true; then a; fi',
      'FOO=1',
    ]) {
      assert.equal(shellScriptFor(command), command.trim());
    }
  });
});

describe('restart backoff', () => {
  it('doubles from 500 ms and caps at 30 s', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 100].map((attempt) => nextRestartDelay(attempt)),
      [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
    );
  });

  it('counts attempts up, and starts over after a minute of uptime', () => {
    assert.equal(nextRestartAttempt(null, 100), 0);
    assert.equal(nextRestartAttempt(0, 100), 1);
    assert.equal(nextRestartAttempt(4, 59_999), 5);
    assert.equal(nextRestartAttempt(4, 60_000), 0);
  });
});
