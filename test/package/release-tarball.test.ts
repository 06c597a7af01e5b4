import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commitFromGit } from '../../src/cli/build-info.js';
import { REPO_ROOT } from '../support/cutover-harness.js';
import { installGlobally } from '../support/global-install.js';

/**
 * Issue 20, item 14: `npx cutover` outside the repository is a 404 and there was no `cutover --version`. The README
 * says how to install the CLI on a server from a release tarball; this packs it with the README's `npm pack` and
 * runs the installed `cutover --version`, which must name the commit although the tarball has no .git.
 *
 * The install is laid out as `npm install -g --prefix <tmp>` lays it out (test/support/global-install.ts says why
 * it is not npm's own).
 */
const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};
const tarballName = `cutover-${manifest.version}.tgz`;

function readmeInstallCommands(): string[] {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = /## Installing the CLI on a server\n([\s\S]*?)\n## /.exec(readme)?.[1];
  assert.ok(section, 'the README has a section "Installing the CLI on a server"');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'with a sh block');
  return block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
}

describe('the CLI from a release tarball', () => {
  let tmp: string;
  let prefix: string;
  let packed: { name: string; filename: string; files: { path: string }[] };

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-tarball-'));
    prefix = path.join(tmp, 'prefix');
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("the README's commands pack the checkout and install the tarball it names", () => {
    const commands = readmeInstallCommands();
    assert.ok(commands.includes('npm pack'), commands.join('\n'));
    assert.ok(commands.includes(`npm install -g ./${tarballName}`), `installs ${tarballName}:\n${commands.join('\n')}`);
    assert.ok(commands.includes('cutover --version'), commands.join('\n'));
    // The README's `npm pack`, written elsewhere than the checkout; prepack records the commit.
    const output = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    packed = (JSON.parse(output) as (typeof packed)[])[0]!;
    assert.equal(packed.filename, tarballName);
    assert.ok(fs.existsSync(path.join(tmp, tarballName)));
  });

  it('the tarball holds the CLI, its compiled code and the recorded commit, and no .git', () => {
    assert.ok(packed, 'packed by the previous case');
    const files = new Set(packed.files.map((f) => f.path));
    for (const file of [
      'package.json',
      manifest.bin.cutover!.replace(/^\.\//, ''),
      'dist/src/cli/main.js',
      'dist/src/build-info.json',
    ])
      assert.ok(files.has(file), `${file} is in the tarball`);
    assert.ok(![...files].some((f) => f.startsWith('.git')), 'no .git in the tarball');
    assert.ok(![...files].some((f) => f.startsWith('dist/test/')), 'no compiled tests in the tarball');
  });

  it('installed globally, `cutover --version` prints the version and the commit it was packed from', () => {
    assert.ok(packed, 'packed by the previous case');
    const { packageDir, env } = installGlobally(path.join(tmp, tarballName), prefix);
    // As a user's shell runs it: by name, through the bin's #!/usr/bin/env node, from an unrelated directory.
    const version = (...args: string[]): string =>
      execFileSync('cutover', args, { cwd: tmp, env, encoding: 'utf8' }).trim();

    const commit = commitFromGit();
    assert.ok(commit, 'the checkout this test runs from has a commit');
    assert.equal(version('--version'), `cutover ${manifest.version} (commit ${commit})`);
    assert.equal(version('-V'), `cutover ${manifest.version} (commit ${commit})`);
    assert.deepEqual(JSON.parse(version('--version', '--json')), { version: manifest.version, commit });
    // The commit came from the recorded file, not from a git repository around: without it, it is unknown.
    fs.rmSync(path.join(packageDir, 'dist', 'src', 'build-info.json'));
    assert.equal(version('--version'), `cutover ${manifest.version} (commit unknown)`);
  });
});
