import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import semver from 'semver';
import { REPO_ROOT } from '../support/cutover-harness.js';

/**
 * Issue 12, finding 19: `npm ci` on Node 20 printed EBADENGINE because the lockfile pulled cookie@2.0.2 (Node ≥ 22)
 * through light-my-request. npm warns when a locked package's `engines.node` range does not admit the running Node
 * (npm-install-checks: semver.satisfies with prereleases included), so this is the same check over the whole lockfile.
 */
interface LockedPackage {
  version?: string;
  engines?: { node?: string } | string[];
}

function lockedPackages(): Array<[string, LockedPackage]> {
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockedPackage>;
  };
  return Object.entries(lock.packages).filter(([location]) => location !== '');
}

test('a clean install on the supported Node prints no engine warning: every locked package admits package.json engines.node', () => {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    engines: { node: string };
  };
  // The Node this runs on is the one a clean install meets (CI runs the supported Node 20); every range must admit it.
  const running = process.versions.node;
  assert.ok(semver.satisfies(running, manifest.engines.node), `the running Node ${running} is within engines.node`);
  const refused = lockedPackages()
    .filter(
      ([, locked]) =>
        locked.engines !== undefined && !Array.isArray(locked.engines) && locked.engines.node !== undefined,
    )
    .filter(
      ([, locked]) =>
        !semver.satisfies(running, (locked.engines as { node: string }).node, { includePrerelease: true }),
    )
    .map(
      ([location, locked]) =>
        `${location}@${locked.version ?? '?'} wants node ${(locked.engines as { node: string }).node}`,
    );
  assert.deepEqual(refused, [], `npm ci on Node ${running} would print EBADENGINE for:\n${refused.join('\n')}`);
});
