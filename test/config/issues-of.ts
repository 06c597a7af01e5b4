import assert from 'node:assert/strict';
import type { ConfigIssue } from '../../src/config/config-issues.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { CutoverConfig } from '../../src/config/types.js';
import { CutoverError } from '../../src/core/errors.js';

/** Parses as if from /srv/site/cutover.yaml with an empty environment. */
export function parse(text: string): CutoverConfig {
  return parseConfig(text, '/srv/site/cutover.yaml', { env: {} });
}

/** Parses expecting CONFIG_INVALID; the issues it reported, by path. */
export function issuesOf(text: string): { message: string; issues: ConfigIssue[]; byPath: Map<string, ConfigIssue> } {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof CutoverError, `expected a CutoverError, got ${String(error)}`);
    assert.equal(error.code, 'CONFIG_INVALID');
    const issues = error.details as ConfigIssue[];
    return { message: error.message, issues, byPath: new Map(issues.map((issue) => [issue.path, issue])) };
  }
  assert.fail('the config loaded, but it should have been refused');
}

/** The one issue at a path, failing with the whole list when there is none. */
export function issueAt(byPath: Map<string, ConfigIssue>, path: string): ConfigIssue {
  const issue = byPath.get(path);
  assert.ok(
    issue,
    `no issue at ${path}; got:\n${[...byPath.values()].map((i) => `${i.path}: ${i.message}`).join('\n')}`,
  );
  return issue;
}
