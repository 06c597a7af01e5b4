import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinCommandWords, splitCommandWords } from '../../src/config/command-words.js';
import type { ConfigIssue } from '../../src/config/config-issues.js';
import { parseConfig } from '../../src/config/load-config.js';
import { CutoverError } from '../../src/core/errors.js';

function parse(service: string) {
  return parseConfig(`services:\n  web:\n${service}`, '/srv/site/cutover.yaml', { env: {} });
}

function issuesOf(service: string): ConfigIssue[] {
  try {
    parse(service);
  } catch (error) {
    assert.ok(error instanceof CutoverError, String(error));
    assert.equal(error.code, 'CONFIG_INVALID');
    return error.details as ConfigIssue[];
  }
  assert.fail('the config loaded, but it should have been refused');
}

describe('a service command is split into words, without a shell', () => {
  it('splits on blanks and honours quotes and backslashes the way sh does', () => {
    assert.deepEqual(splitCommandWords(`node server.js --name 'a b' "c \\"d\\" \\\\ e" f\\ g --label=\${VERSION} ''`), {
      ok: true,
      words: ['node', 'server.js', '--name', 'a b', 'c "d" \\ e', 'f g', '--label=${VERSION}', ''],
    });
    assert.deepEqual(splitCommandWords(`node -e 'console.log("$HOME; ` + '`x`' + `")'`), {
      ok: true,
      words: ['node', '-e', 'console.log("$HOME; `x`")'],
    });
  });

  it('refuses what only a shell gives a meaning to, naming shell: true', () => {
    for (const command of [
      'cd app && node server.js',
      'node a | tee log',
      'node a; node b',
      'node a > out',
      'node $HOME/a.js',
      'node "$(id)"',
      'node `id`',
      'node a.js\nid',
      'NODE_ENV=production node a.js',
      'node *.js',
      'node ~/a.js',
      'node a.js # comment',
      '(node a)',
      'node "a',
      '',
    ]) {
      const split = splitCommandWords(command);
      assert.equal(split.ok, false, JSON.stringify(command));
      if (!split.ok && command !== '' && command !== 'node "a') assert.match(split.reason, /shell: true/, command);
    }
  });

  it('joins a YAML list into a command that splits back into the same words', () => {
    const words = ['node', 'server.js', "it's", 'a b', '$(id)', '--label=${VERSION}', '', ';'];
    assert.deepEqual(splitCommandWords(joinCommandWords(words)), { ok: true, words });
  });

  it('refuses a process command that needs a shell at load, naming the field', () => {
    const issues = issuesOf('    command: cd app && node server.js\n');
    assert.equal(issues[0]?.path, 'services.web.command');
    assert.match(issues[0]?.message ?? '', /"&".*shell: true/);
  });

  it('accepts it with shell: true, and a list of words as the command', () => {
    assert.equal(parse('    command: cd app && node server.js\n    shell: true\n').services.web?.shell, true);
    const web = parse('    command: [node, server.js, "a b", "--label=${VERSION}"]\n').services.web;
    assert.equal(web?.shell, false);
    assert.deepEqual(splitCommandWords(web?.command ?? ''), {
      ok: true,
      words: ['node', 'server.js', 'a b', '--label=${VERSION}'],
    });
  });

  it('keeps shell for the process runtime: a container command has no shell of its own', () => {
    const issues = issuesOf(
      '    runtime: docker\n    image: app:${VERSION}\n    command: node a.js\n    shell: true\n',
    );
    assert.equal(issues[0]?.path, 'services.web.shell');
  });
});

describe('inherit_env', () => {
  it('lists the names an app takes from the server environment', () => {
    const web = parse(
      '    command: node a.js\n    inherit_env: [NODE_OPTIONS, http_proxy]\n    health: { command: "true" }\n',
    ).services.web;
    assert.deepEqual(web?.inheritEnv, ['NODE_OPTIONS', 'http_proxy']);
    assert.deepEqual(web?.health.check, {
      type: 'command',
      command: 'true',
      inheritEnv: ['NODE_OPTIONS', 'http_proxy'],
    });
  });

  it('refuses CUTOVER_* and names that are not variable names', () => {
    const issues = issuesOf('    command: node a.js\n    inherit_env: [CUTOVER_TOKEN, cutover_sdk_token, "A-B"]\n');
    assert.deepEqual(
      issues.map((issue) => issue.path),
      ['services.web.inherit_env[0]', 'services.web.inherit_env[1]', 'services.web.inherit_env[2]'],
    );
    assert.match(issues[0]?.message ?? '', /CUTOVER_\*.*admin and SDK tokens/);
  });
});
