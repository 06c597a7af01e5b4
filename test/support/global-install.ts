import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './cutover-harness.js';

/**
 * A release tarball installed as `npm install -g --prefix <prefix> ./cutover-<version>.tgz` lays it out:
 * <prefix>/lib/node_modules/cutover holding the package, <prefix>/bin/cutover linked to its bin. The dependencies
 * are the checkout's node_modules: npm's own global install needs the registry's metadata of every dependency
 * (`--offline` answers ENOTCACHED for better-sqlite3 here, the cache holding the tarballs `npm ci` fetched but not
 * those documents), and better-sqlite3 then compiles for minutes. What the tarball brings, and how its bin runs,
 * is what the tests check.
 */
export interface GlobalInstall {
  packageDir: string;
  /** The environment a user's shell has after the install: <prefix>/bin first on PATH, then node's directory. */
  env: NodeJS.ProcessEnv;
}

export function installGlobally(tarball: string, prefix: string): GlobalInstall {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  const packageDir = path.join(prefix, 'lib', 'node_modules', 'cutover');
  fs.mkdirSync(packageDir, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', packageDir, '--strip-components=1']);
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(packageDir, 'node_modules'));
  fs.mkdirSync(path.join(prefix, 'bin'), { recursive: true });
  fs.symlinkSync(
    path.join('..', 'lib', 'node_modules', 'cutover', manifest.bin.cutover!),
    path.join(prefix, 'bin', 'cutover'),
  );
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('CUTOVER_')) delete env[key];
  env.PATH = [path.join(prefix, 'bin'), path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter);
  return { packageDir, env };
}
