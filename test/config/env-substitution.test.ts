import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { substituteEnv } from '../../src/config/env-substitution.js';

describe('substituteEnv', () => {
  const env = { NAME: 'app', EMPTY: '', VERSION: 'from-env' };

  it('fills set variables and defaults', () => {
    assert.deepEqual(substituteEnv('${NAME}-${UNSET:-x}-${EMPTY:-fallback}', env), {
      text: 'app-x-fallback',
      missing: [],
      malformed: [],
      used: [{ name: 'NAME', value: 'app' }],
    });
  });

  it('leaves the runtime placeholders for each instance to fill', () => {
    const text = 'node s.js --port ${PORT} v${VERSION} ${SLOT}/${INSTANCE} ${HOST}';
    assert.deepEqual(substituteEnv(text, env), { text, missing: [], malformed: [], used: [] });
  });

  it('turns $${...} into a literal ${...}', () => {
    assert.equal(substituteEnv('echo $${NAME} ${NAME}', env).text, 'echo ${NAME} app');
  });

  it('reports unset variables without a default and malformed references', () => {
    assert.deepEqual(substituteEnv('${A} ${B:-b} ${C}', {}).missing, ['A', 'C']);
    assert.deepEqual(substituteEnv('${1X} ${} ${a b}', {}).malformed, ['${1X}', '${}', '${a b}']);
  });

  it('leaves text without braces alone', () => {
    assert.equal(substituteEnv('echo $NAME $$ $', env).text, 'echo $NAME $$ $');
  });
});
