import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueAt, issuesOf, parse } from './issues-of.js';

/**
 * `load:` of an analysis template: the synthetic requests a quiet service's
 * analysis sends. Everything a request is built from is checked at load, with
 * the field named, so nothing unbounded or malformed reaches a socket.
 */
function withLoad(load: string): string {
  return [
    'analysis:',
    '  probe:',
    `    load: ${load}`,
    '    metrics: [{ name: e, provider: { builtin: error-rate }, failure_condition: result > 0.05 }]',
    'services: { web: { command: a } }',
    '',
  ].join('\n');
}

describe('analysis templates: load', () => {
  it('resolves rate and path, with GET, a 5 s timeout and only_below = rate by default', () => {
    assert.deepEqual(parse(withLoad('{ rate: 5, path: /api/ping }')).analysis.probe?.load, {
      rate: 5,
      path: '/api/ping',
      method: 'GET',
      onlyBelow: 5,
      timeoutMs: 5000,
    });
    assert.deepEqual(
      parse(withLoad('{ rate: 50, path: "/p?x=%20&y=1", only_below: 0.5, method: HEAD, timeout: 2s }')).analysis.probe
        ?.load,
      { rate: 50, path: '/p?x=%20&y=1', method: 'HEAD', onlyBelow: 0.5, timeoutMs: 2000 },
    );
  });

  it('is absent from a template without it', () => {
    const config = parse(withLoad('{ rate: 1, path: / }').replace(/ {4}load: .*\n/, ''));
    assert.equal(config.analysis.probe?.load, undefined);
  });

  it('refuses each bad field by name', () => {
    const cases: [string, string, RegExp][] = [
      ['{ rate: 0, path: / }', 'rate', /expected a whole number from 1 to 50/],
      ['{ rate: 51, path: / }', 'rate', /expected a whole number from 1 to 50/],
      ['{ rate: 2.5, path: / }', 'rate', /expected a whole number from 1 to 50/],
      ['{ rate: 5, path: api/ping }', 'path', /expected a path starting with "\/"/],
      ['{ rate: 5, path: "//evil.example/x" }', 'path', /expected a path starting with "\/"/],
      ['{ rate: 5, path: "/a b" }', 'path', /no spaces, CR or LF/],
      ['{ rate: 5, path: "/a\\r\\nX-Injected: 1" }', 'path', /no spaces, CR or LF/],
      ['{ rate: 5, path: "/é" }', 'path', /percent-encode/],
      ['{ rate: 5, path: "/a#b" }', 'path', /without a #fragment/],
      [`{ rate: 5, path: "/${'a'.repeat(2048)}" }`, 'path', /at most 2048 characters/],
      ['{ rate: 5, path: /, method: POST }', 'method', /expected GET or HEAD/],
      ['{ rate: 5, path: /, only_below: 0 }', 'only_below', /requests per second of real traffic/],
      ['{ rate: 5, path: /, timeout: 31s }', 'timeout', /at most 30s/],
    ];
    for (const [load, field, message] of cases) {
      const { byPath } = issuesOf(withLoad(load));
      assert.match(issueAt(byPath, `analysis.probe.load.${field}`).message, message, load);
    }
  });

  it('needs rate and path, and offers the known keys for a misspelt one', () => {
    const { byPath } = issuesOf(withLoad('{ rat: 5, path: / }'));
    assert.equal(issueAt(byPath, 'analysis.probe.load.rat').message, 'unknown key; did you mean "rate"?');
    assert.match(issueAt(byPath, 'analysis.probe.load.rate').message, /expected a whole number from 1 to 50/);
  });
});
